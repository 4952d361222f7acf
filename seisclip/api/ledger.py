"""The archive run's records: ``DIR/restorations.jsonl``, one line per restored record (see
:mod:`.archive`), and ``DIR/restore_run.json``, the run's whole record list; checked by
``seisclip verify-restorations`` and joined by ``seisclip merge-restorations``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import SeisclipError
from ..fsio import read_input, sha256_file, write_file_atomic
from ..provenance import check_fields, read_manifest
from ..restore.amplitudes import AmplitudeTable
from ..restore.methods import Band
from ..restore.naming import amplitudes_name, band_names, status_name

RESTORATIONS_FILE = "restorations.jsonl"
RUN_FILE = "restore_run.json"
RUN_KIND = "seisclip restore run"
#: The outputs a line may name, each with its sha256 under ``KEY_sha256``, and what each is.
OUTPUTS = {"output": "restored record", "status_output": "status", "lower_output": "lower bound",
           "upper_output": "upper bound", "amplitudes_output": "amplitude table"}
#: The output every line of this seisclip names: a line without it was written before restored
#: records had amplitude tables, and its record is restored again.
REQUIRED_OUTPUT = "amplitudes_output"


def output_keys(output: Path) -> dict[Path, str]:
    """The line's key of each output a restored record at ``output`` may have."""
    lower, upper = band_names(output)
    return {output: "output", status_name(output): "status_output", lower: "lower_output", upper: "upper_output",
            amplitudes_name(output): "amplitudes_output"}


def band_json(band: Band | None) -> dict[str, Any] | None:
    """What a band is, as a line states it (None: the method gives none)."""
    return None if band is None else {"description": band.description, "central_fraction": band.central_fraction,
                                      "calibrated": band.calibrated, "label": band.label}


def amplitudes_json(tables: list[AmplitudeTable]) -> dict[str, Any]:
    """The counts of amplitude tables (a trace's, or a record's traces'): runs, flagged runs, and
    the flag rule's threshold that flagged them."""
    thresholds = {table.flag_interval_log10 for table in tables}
    if len(thresholds) != 1:
        raise ValueError(f"tables flagged by {len(thresholds)} thresholds, one expected")
    return {"runs": sum(table.runs for table in tables), "flagged": sum(table.flagged for table in tables),
            "flag_interval_log10": thresholds.pop()}


class Ledger:
    """``restorations.jsonl``: the lines of earlier runs by input path, and this run's lines as
    they are written."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / RESTORATIONS_FILE
        self.lines: dict[str, dict] = {}
        if self.path.exists():
            text = self.path.read_text()
            rows = text.splitlines()
            for number, row in enumerate(rows, start=1):
                try:
                    line = json.loads(row)
                except json.JSONDecodeError:
                    if number == len(rows) and not text.endswith("\n"):   # a run killed while writing it
                        continue
                    raise SeisclipError("line is not JSON: the file is damaged", self.path, number) from None
                self.lines[line["input"]] = line
            if text and not text.endswith("\n"):   # leave no partial line for the next to be appended to
                self._write(list(self.lines.values()))
        self.owners = {output: line["input"] for line in self.lines.values() for output in _outputs(line)}
        self.handle = open(self.path, "a")

    def _write(self, lines: list[dict]) -> None:
        write_file_atomic(self.path, "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines).encode(),
                          overwrite=True)

    def owner(self, path: Path) -> str | None:
        """The input whose line names ``path`` as its output (None: no line does): only that input's
        restoration may replace it."""
        return self.owners.get(str(path))

    def outputs_of(self, path: str) -> list[str]:
        """The outputs the line of the record at ``path`` names (none without a line)."""
        return _outputs(self.lines.get(path, {}))

    def unchanged(self, path: str, input_sha256: str, settings_sha256: str) -> bool:
        """Whether the record at ``path`` was restored from this input with these settings, and its
        outputs are as written then."""
        line = self.lines.get(path)
        if not line or line["input_sha256"] != input_sha256 or line["settings_sha256"] != settings_sha256:
            return False
        if not line.get(REQUIRED_OUTPUT):
            return False
        return all(os.path.isfile(line[key]) and sha256_file(line[key]) == line[f"{key}_sha256"]
                   for key in OUTPUTS if line.get(key))

    def append(self, line: dict) -> None:
        for output in _outputs(self.lines.get(line["input"], {})):
            if self.owners.get(output) == line["input"]:
                del self.owners[output]
        self.owners.update(dict.fromkeys(_outputs(line), line["input"]))
        self.lines[line["input"]] = line
        self.handle.write(json.dumps(line, sort_keys=True) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def rewrite(self, order: list[str]) -> None:
        """One line per record, this run's records first in list order, then earlier runs' others."""
        self.handle.close()
        listed = set(order)
        self._write([self.lines[path] for path in order if path in self.lines]
                    + [line for path, line in self.lines.items() if path not in listed])


def _outputs(line: dict) -> list[str]:
    """The outputs a line names."""
    return [line[key] for key in OUTPUTS if line.get(key)]


def read_ledger(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The lines of ``out_dir``'s restorations.jsonl."""
    path = Path(out_dir) / RESTORATIONS_FILE
    lines = []
    for number, row in enumerate(read_input(path, "restoration log").decode("utf-8", errors="replace").splitlines(), 1):
        try:
            line = json.loads(row)
        except json.JSONDecodeError:
            raise SeisclipError("line is not JSON: the file is damaged", path, number) from None
        if not isinstance(line, dict) or not {"input", "input_sha256", "output", "output_sha256"} <= line.keys():
            raise SeisclipError("line is not a restoration: input, output and their sha256 expected", path, number)
        lines.append(line)
    return lines


def verify_restorations(out_dir: str) -> int:
    """``seisclip verify-restorations DIR``: every input and output of the log re-hashed."""
    from ..bank.verify import report

    lines = read_ledger(out_dir)
    problems = []
    for line in lines:
        for key, what in {"input": "input record", **OUTPUTS}.items():
            path, recorded = line.get(key), line.get(f"{key}_sha256")
            if path is None:
                continue
            if not os.path.isfile(path):
                problems.append(f"{path}: {what} not found")
            elif sha256_file(path) != recorded:
                problems.append(f"{path}: sha256 differs from the one {RESTORATIONS_FILE} records for this {what}")
    return report("verify-restorations", problems, f"{len(lines)} restorations of {out_dir}/{RESTORATIONS_FILE}: "
                                                   "inputs and outputs checked against their recorded sha256")


def merge_restorations(out_dirs: list[str], output: str) -> int:
    """``seisclip merge-restorations DIR… --out FILE``: the shares' logs joined in the order of the
    record list, once every record of the list is restored exactly once."""
    runs = []
    for out_dir in out_dirs:
        run = read_manifest(Path(out_dir) / RUN_FILE)
        check_fields(run, Path(out_dir) / RUN_FILE, {"records_sha256": str, "records": list})
        runs.append((out_dir, run, read_ledger(out_dir)))
    lists = {run["records_sha256"] for _, run, _ in runs}
    if len(lists) > 1:
        raise SeisclipError("the folders restored different record lists (their restore_run.json differ): "
                            "merge the shares of one run")
    every_record = runs[0][1]["records"]
    problems = []
    shares = [run["shard"] or "1/1" for _, run, _ in runs]
    counts = {share.split("/")[1] for share in shares}
    if len(counts) > 1:
        problems.append(f"the folders were cut into different numbers of shares: {', '.join(sorted(shares))}")
    else:
        total = int(counts.pop())
        expected = {f"{number}/{total}" for number in range(1, total + 1)}
        problems += [f"share {share} is given twice" for share in sorted({s for s in shares if shares.count(s) > 1})]
        problems += [f"share {share} is missing" for share in sorted(expected - set(shares))]
    found: dict[str, list[str]] = {}
    for out_dir, _, lines in runs:
        for line in lines:
            found.setdefault(line["input"], []).append(out_dir)
    problems += [f"{path}: restored in {len(folders)} folders ({', '.join(folders)})"
                 for path, folders in found.items() if len(folders) > 1]
    problems += [f"{path}: not restored in any folder" for path in every_record if path not in found]
    problems += [f"{path}: restored, but not in the record list" for path in found if path not in set(every_record)]
    if problems:
        for problem in problems:
            print(f"merge-restorations: {problem}", file=sys.stderr)
        print(f"merge-restorations: {len(problems)} problem(s); nothing written", file=sys.stderr)
        return 1
    by_input = {line["input"]: line for _, _, lines in runs for line in lines}
    write_file_atomic(output, "".join(json.dumps(by_input[path], sort_keys=True) + "\n"
                                      for path in every_record).encode())
    print(f"merge-restorations: {len(every_record)} records from {len(runs)} folders, each exactly once -> {output}",
          file=sys.stderr)
    return 0

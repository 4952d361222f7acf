"""``seisclip bank verify BANK``: is every trace of an HDF5 bank as it was written, and as its ASCII source?"""

from __future__ import annotations

import hashlib
import os

import numpy as np
from tqdm import tqdm

from ..errors import SeisclipError
from .ascii import parse_waveform
from .hdf5 import Bank, values_sha256


def _source_problems(bank: Bank, number: int, values: np.ndarray, ascii_dir: str) -> list[str]:
    """How the ASCII file a trace came from differs from what the bank recorded and stores."""
    path = os.path.join(ascii_dir, bank.names[number])
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return [f"{path}: ASCII source of trace {number} not found"]
    problems = []
    if len(raw) != bank.source_bytes[number]:
        problems.append(f"{path}: {len(raw)} bytes, the bank recorded {bank.source_bytes[number]}")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != bank.source_sha256[number]:
        problems.append(f"{path}: sha256 {digest} differs from the recorded {bank.source_sha256[number]} "
                        "(the file changed after ingest)")
    try:
        source = parse_waveform(raw, path)
    except SeisclipError as exc:
        return problems + [str(exc)]
    if source.size != values.size:
        problems.append(f"{path}: {source.size} samples, the bank stores {values.size}")
    elif not np.array_equal(source, values.astype(np.float64)):
        first = int(np.flatnonzero(source != values.astype(np.float64))[0])
        problems.append(f"{path}: sample {first} (line {first + 1}) is {source[first]:g}, "
                        f"the bank stores {values[first]}")
    return problems


def verify_bank(path: str, ascii_dir: str | None = None, progress: bool = True) -> tuple[list[str], str]:
    """Every problem found, one line each, and a summary of what was checked."""
    if ascii_dir is not None and not os.path.isdir(ascii_dir):
        raise SeisclipError("ASCII waveform folder not found", ascii_dir)
    with Bank(path) as bank:
        problems = bank.table_problems()
        if problems:   # rows cannot be matched to traces: nothing more to check
            return problems, f"trace table of {path}"
        problems = bank.layout_problems()
        for number in tqdm(range(len(bank.names)), desc="checking traces", unit="trace", disable=not progress,
                           leave=False):
            where = f"{path}: trace {number} ({bank.names[number]})"
            values = bank.trace_values(number)
            if values.size != bank.counts[number]:
                problems.append(f"{where}: {values.size} of its {bank.counts[number]} samples are stored "
                                "(/samples is truncated)")
            elif (digest := values_sha256(values)) != bank.samples_sha256[number]:
                problems.append(f"{where}: sha256 of the stored values {digest} differs from "
                                f"the recorded {bank.samples_sha256[number]}")
            if ascii_dir is not None:
                problems += _source_problems(bank, number, values, ascii_dir)
        summary = (f"{len(bank.names)} traces, {int(bank.counts.sum()):,} samples checked against their recorded "
                   "counts and sha256" + (f" and the ASCII files in {ascii_dir}" if ascii_dir else ""))
    return problems, summary


def run_bank_verify(path: str, ascii_dir: str | None = None, progress: bool = True) -> int:
    return report("bank verify", *verify_bank(path, ascii_dir, progress))


def report(command: str, problems: list[str], summary: str) -> int:
    """Print each problem on its own line, then the verdict; exit status 0 only without problems."""
    for problem in problems:
        print(problem)
    if problems:
        print(f"{command}: FAILED, {len(problems)} problem(s); {summary}")
        return 1
    print(f"{command}: OK, {summary}")
    return 0

"""Reading whole unclipped records to evaluate restorations on, whatever their format: the ASCII
waveform files, HDF5 banks, and everything ``seisclip bank import`` reads (:mod:`.readers`)."""

from __future__ import annotations

import os
import re

import h5py
import numpy as np

from ..errors import SeisclipError
from ..fsio import read_input
from .ascii import parse_waveform
from .hdf5 import FORMAT, Bank
from .importing import read_all
from .settings import ImportSettings


#: A record named after its SEED channel, ``NET.STA.LOC.CHA`` then its start time: a seismic file's
#: trace (``file#NET.STA.LOC.CHA.YYYYmmddTHHMMSS``, :func:`read_records`), an HDF5 bank's trace
#: (``NET.STA.LOC.CHA.YYYYmmddTHHMMSS.ffffffZ``) or a development-set record
#: (``NET.STA.LOC.CHA_YYYY-mm-ddTHH_MM_SS.ffffff.txt``, bench/real_records.py).
_SEED_NAMED = re.compile(r"[\w-]*\.[\w-]*\.[\w-]*\.(?P<channel>[A-Za-z0-9]{3})[._](?:\d{8}T\d{6}|\d{4}-\d{2}-\d{2}T)",
                         re.ASCII)
GROUND_MOTIONS = ("velocity", "acceleration")


def ground_motion_of(name: str) -> str:
    """What a record measures, by its name: ``"acceleration"`` where it names a SEED channel whose
    instrument code (the channel's second letter) is N, an accelerometer; ``"velocity"`` for any
    other channel (H, L: seismometers) and for every record not named after a channel (the
    ASCII archive's files are seismometer counts)."""
    match = _SEED_NAMED.match(re.split(r"[/#]", name)[-1])
    return "acceleration" if match and match["channel"][1].upper() == "N" else "velocity"


def read_records(path: str) -> list[tuple[str, np.ndarray]]:
    """The unclipped records a file holds, named: a text file is an ASCII waveform (one sample per
    line); an HDF5 bank gives every trace; anything else ``seisclip bank import`` reads (miniSEED,
    SAC, …, CREDIT-X1local HDF5) gives each contiguous trace resampled to 40 Hz as import does,
    clipped traces left out."""
    if not os.path.isfile(path):
        raise SeisclipError("record file not found", path)
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as file:
            is_bank = file.attrs.get("format") == FORMAT
        if is_bank:
            with Bank(path) as bank:
                return [(f"{path}/{name}", bank.trace_values(number).astype(np.float64))
                        for number, name in enumerate(bank.names)]
    else:
        raw = read_input(path, "record")
        if b"\0" not in raw[:4096]:   # text is the ASCII format; miniSEED and SAC are binary
            return [(path, parse_waveform(raw, path))]
    report = read_all([path], ImportSettings(), progress=False)
    return [(f"{path}#{trace.raw.seed_id}.{trace.starttime:%Y%m%dT%H%M%S}", trace.values.astype(np.float64))
            for trace in report.traces]

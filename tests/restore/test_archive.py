"""Restoring an archive: `seisclip restore RECORD… --out-dir DIR`, its provenance log, resuming
after SIGKILL, seismic formats in and out, shards and merge-restorations, verify-restorations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seisclip.cli import main
from seisclip.fsio import sha256_file

from conftest import BANDED_BAND_DESCRIPTION, error_line, run_in_process

CLIP_COUNTS = 1500


def wave(samples: int, seed: int) -> np.ndarray:
    """A wave packet in whole counts peaking near 3000, clipped at ±CLIP_COUNTS."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples)
    centre, width, period = rng.uniform(0.3, 0.7) * samples, samples / rng.uniform(4, 8), rng.uniform(3, 9)
    truth = 3000 * np.exp(-((t - centre) / width) ** 2) * np.sin(t / period) + rng.normal(0, 30, samples)
    return np.clip(np.round(truth), -CLIP_COUNTS, CLIP_COUNTS)


def write_plain(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{int(v)}\n" for v in values))
    return path


def archive(folder: Path, count: int, samples: int = 600) -> list[Path]:
    """``count`` plain clipped records in two subfolders of ``folder``."""
    return [write_plain(folder / f"station{i % 2}" / f"record{i:03d}.txt", wave(samples, i)) for i in range(count)]


def restore(capsys, *argv: str) -> tuple[int, list[str]]:
    status, _, err = run_in_process(capsys, main, ["restore", *argv, "--quiet"])
    return status, err


def ledger(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "restorations.jsonl").read_text().splitlines()]


def without_times(lines: list[dict]) -> list[dict]:
    return [{key: value for key, value in line.items() if key != "restored_utc"} for line in lines]


def test_many_records_with_one_model_load_equal_the_single_record_restorations(tiny_model, tmp_path, monkeypatch,
                                                                                capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 6, samples=300)
    status, err = restore(capsys, *map(str, records), "--model", str(tiny_model), "--method", "model",
                          "--out-dir", "out")
    assert status == 0, err
    assert err[-1].startswith("restore: restored 6, skipped 0 (unchanged since an earlier run), failed 0; ")
    lines = ledger(Path("out"))
    assert [line["input"] for line in lines] == [str(path) for path in records]
    for path, line in zip(records, lines):
        # Outputs keep the records' folders below their common one.
        output = Path("out") / path.parent.name / f"{path.stem}.restored.txt"
        assert line["output"] == str(output) and line["output_sha256"] == sha256_file(output)
        assert line["input_sha256"] == sha256_file(path) and line["model_sha256"] == sha256_file(tiny_model / "model.keras")
        assert (line["method"], line["combine"], line["format"], line["samples"]) == ("model", "median", "ascii", 300)
        assert line["traces"][0]["clipped_samples"] == int((np.abs(np.loadtxt(path)) >= CLIP_COUNTS).sum())
        assert main(["restore", str(path), "--model", str(tiny_model), "--method", "model", "--out", "single.txt",
                     "--overwrite"]) == 0
        single, archived = np.loadtxt("single.txt", skiprows=1), np.loadtxt(output, skiprows=1)
        np.testing.assert_allclose(archived, single, rtol=1e-6, atol=1e-6 * CLIP_COUNTS)


@pytest.mark.bad_input("archive-input-changed-on-resume")
def test_a_rerun_skips_what_is_done_and_restores_a_changed_record_again(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 4)
    Path("list.txt").write_text("# the archive\narchive/station0/*.txt\n\narchive/station1/record001.txt\n")
    assert restore(capsys, "--records-from", "list.txt", "archive/station1/record003.txt", "--method", "spline",
                   "--out-dir", "out")[0] == 0
    first = ledger(Path("out"))
    # The arguments' records, then the list's, globs expanded in sorted order.
    assert [line["input"] for line in first] == ["archive/station1/record003.txt", "archive/station0/record000.txt",
                                                 "archive/station0/record002.txt", "archive/station1/record001.txt"]
    status, err = restore(capsys, "--records-from", "list.txt", "archive/station1/record003.txt", "--method", "spline",
                          "--out-dir", "out")
    assert status == 0 and err[-1].startswith("restore: restored 0, skipped 4 "), err
    assert ledger(Path("out")) == first

    write_plain(records[2], wave(600, 99))
    status, err = restore(capsys, "--records-from", "list.txt", "archive/station1/record003.txt", "--method", "spline",
                          "--out-dir", "out")
    assert status == 0 and err[-1].startswith("restore: restored 1, skipped 3 "), err
    assert err[0] == ("note: archive/station0/record002.txt: changed since it was restored (its sha256 differs from "
                      "restorations.jsonl's): restored again")
    again = ledger(Path("out"))
    assert again[2]["input_sha256"] == sha256_file(records[2]) != first[2]["input_sha256"]
    assert without_times(again[:2] + again[3:]) == without_times(first[:2] + first[3:])
    # Other settings restore everything again.
    assert restore(capsys, "--records-from", "list.txt", "archive/station1/record003.txt", "--method", "pocs",
                   "--out-dir", "out")[1][-1].startswith("restore: restored 4, skipped 0 ")
    assert main(["verify-restorations", "out"]) == 0


@pytest.mark.bad_input("archive-unreadable-record")
def test_a_bad_record_among_good_ones_is_reported_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 3)
    Path("archive/station0/bad.txt").write_text("12\nnot a number\n")
    status, err = restore(capsys, *map(str, records), "archive/station0/bad.txt", "archive/missing.txt",
                          "--method", "spline", "--out-dir", "out")
    assert status == 1
    assert any(line.startswith("restore: failed: archive/station0/bad.txt:2: ") for line in err), err
    assert any(line.startswith("restore: failed: archive/missing.txt: record file not found") for line in err), err
    assert err[-1].startswith("restore: restored 3, skipped 0 (unchanged since an earlier run), failed 2; ")
    assert [line["input"] for line in ledger(Path("out"))] == [str(path) for path in records]


@pytest.mark.bad_input("archive-output-folder-is-a-file")
def test_an_output_folder_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 2)
    Path("out").write_text("a file\n")
    line = error_line(capsys, main, ["restore", *map(str, records), "--method", "spline", "--out-dir", "out"])
    assert line == "seisclip restore: error: out: output folder is a file"
    assert Path("out").read_text() == "a file\n"


@pytest.mark.bad_input("archive-output-not-ours")
def test_an_existing_output_no_restoration_names_is_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 2)
    Path("out/station0").mkdir(parents=True)
    Path("out/station0/record000.restored.txt").write_text("mine\n")
    status, err = restore(capsys, *map(str, records), "--method", "spline", "--out-dir", "out")
    assert status == 1
    assert ("restore: failed: output out/station0/record000.restored.txt exists and no earlier restoration "
            "names it: it is kept") in err
    assert Path("out/station0/record000.restored.txt").read_text() == "mine\n"


def test_shards_cover_every_record_once_and_merge_checks_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 12, samples=200)
    for k in (1, 2, 3):
        assert restore(capsys, "archive/*/*.txt", "--method", "spline", "--out-dir", f"shard{k}",
                       "--shard", f"{k}/3")[0] == 0
    shares = [{line["input"] for line in ledger(Path(f"shard{k}"))} for k in (1, 2, 3)]
    assert all(shares) and sum(map(len, shares)) == 12 and set().union(*shares) == {str(path) for path in records}
    capsys.readouterr()
    assert main(["merge-restorations", "shard1", "shard2", "shard3", "--out", "all.jsonl"]) == 0
    merged = [json.loads(line)["input"] for line in Path("all.jsonl").read_text().splitlines()]
    assert merged == sorted(str(path) for path in records)   # the glob's order

    capsys.readouterr()
    assert main(["merge-restorations", "shard1", "shard2", "--out", "part.jsonl"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "merge-restorations: share 3/3 is missing" in err and not Path("part.jsonl").exists()
    assert sum(line.endswith(": not restored in any folder") for line in err) == len(shares[2])
    assert main(["merge-restorations", "shard1", "shard1", "shard2", "shard3", "--out", "twice.jsonl"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "merge-restorations: share 1/3 is given twice" in err
    assert sum(": restored in 2 folders (shard1, shard1)" in line for line in err) == len(shares[0])


def test_verify_restorations_names_a_changed_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    archive(Path("archive"), 2)
    assert restore(capsys, "archive/*/*.txt", "--method", "spline", "--out-dir", "out")[0] == 0
    output = Path(ledger(Path("out"))[0]["output"])
    output.write_text(output.read_text().replace(" nan\n", " 1\n", 1))
    capsys.readouterr()
    assert main(["verify-restorations", "out"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (f"{output}: sha256 differs from the one restorations.jsonl "
                                                       "records for this restored record")


# --- seismic formats --------------------------------------------------------------------------

def seismic_files(folder: Path, rate: float = 40.0) -> tuple[Path, Path]:
    """A miniSEED file of two int32 traces and a SAC file of one float32 trace, clipped at ±CLIP_COUNTS."""
    import obspy

    folder.mkdir(parents=True, exist_ok=True)
    header = dict(network="XX", station="BRV", location="00", sampling_rate=rate,
                  starttime=obspy.UTCDateTime(1975, 12, 4, 19, 27))
    traces = [obspy.Trace(wave(2000, seed).astype(np.int32), header={**header, "channel": channel})
              for seed, channel in ((1, "SHZ"), (2, "SHN"))]
    obspy.Stream(traces).write(str(folder / "brv.mseed"), format="MSEED")
    sac = traces[0].copy()
    sac.data = sac.data.astype(np.float32)
    sac.write(str(folder / "brv.sac"), format="SAC")
    return folder / "brv.mseed", folder / "brv.sac"


def test_miniseed_and_sac_records_round_trip_with_their_headers_and_status(tmp_path, monkeypatch, capsys):
    import obspy

    monkeypatch.chdir(tmp_path)
    mseed, sac = seismic_files(Path("archive"))
    status, err = restore(capsys, str(mseed), str(sac), "--method", "spline", "--out-dir", "out")
    assert status == 0, err
    for source, suffix in ((mseed, "mseed"), (sac, "sac")):
        original = obspy.read(str(source))
        restored = obspy.read(f"out/brv.restored.{suffix}")
        state = obspy.read(f"out/brv.restored.status.{suffix}")
        assert len(original) == len(restored) == len(state)
        for before, after, marks in zip(original, restored, state):
            for key in ("network", "station", "location", "channel", "starttime", "sampling_rate", "npts"):
                assert after.stats[key] == before.stats[key] == marks.stats[key], key
            clipped = np.abs(before.data) >= CLIP_COUNTS
            np.testing.assert_array_equal(marks.data != 0, clipped)
            np.testing.assert_array_equal(np.sign(marks.data[clipped]), np.sign(before.data[clipped]))
            assert np.array_equal(after.data[~clipped], before.data[~clipped])   # bit for bit, as numbers
            assert np.all(np.abs(after.data[clipped]) >= CLIP_COUNTS) and np.abs(after.data).max() > CLIP_COUNTS
        if suffix == "mseed":   # marked restored in the file: SEED's quality "Q", data processed
            assert {trace.stats.mseed.dataquality for trace in [*restored, *state]} == {"Q"}
    lines = ledger(Path("out"))
    assert [(line["format"], line["sampling_rate"], len(line["traces"])) for line in lines] == [("MSEED", 40.0, 2),
                                                                                                 ("SAC", 40.0, 1)]
    assert lines[0]["traces"][1]["id"] == "XX.BRV.00.SHN"
    assert lines[0]["status_output"] == "out/brv.restored.status.mseed"


def test_a_trace_at_another_rate_is_written_at_its_own_rate_or_with_output_rate_model_at_the_models(
        tiny_model, tmp_path, monkeypatch, capsys):
    import obspy

    monkeypatch.chdir(tmp_path)
    mseed, _ = seismic_files(Path("archive"), rate=100.0)
    status, err = restore(capsys, str(mseed), "--model", str(tiny_model), "--out-dir", "out")
    assert status == 0, err
    original, restored = obspy.read(str(mseed)), obspy.read("out/brv.restored.mseed")
    for before, after in zip(original, restored):
        assert (after.stats.sampling_rate, after.stats.npts) == (100.0, 2000)
        clipped = np.abs(before.data) >= CLIP_COUNTS
        assert np.array_equal(after.data[~clipped], before.data[~clipped])
        assert np.all(after.data[clipped] * np.sign(before.data[clipped]) >= CLIP_COUNTS)
    (line,) = ledger(Path("out"))
    assert line["sampling_rate"] == 100.0
    assert [trace["rates"] for trace in line["traces"]] == [{"record_hz": 100.0, "restored_hz": 40.0,
                                                             "output_hz": 100.0}] * 2
    for flag in (["--output-rate", "model"], ["--resample"]):
        status, err = restore(capsys, str(mseed), "--model", str(tiny_model), "--out-dir", f"out{len(flag)}", *flag)
        assert status == 0, err
        restored = obspy.read(f"out{len(flag)}/brv.restored.mseed")
        assert [(trace.stats.sampling_rate, trace.stats.npts) for trace in restored] == [(40.0, 800)] * 2
        assert ledger(Path(f"out{len(flag)}"))[0]["traces"][0]["rates"] == {"record_hz": 100.0, "restored_hz": 40.0,
                                                                            "output_hz": 40.0}


@pytest.mark.bad_input("archive-rate-mismatch")
def test_a_rate_the_model_does_not_serve_is_refused_and_a_classic_method_takes_it(tiny_model, tmp_path, monkeypatch,
                                                                                   capsys):
    import obspy

    monkeypatch.chdir(tmp_path)
    mseed, _ = seismic_files(Path("archive"), rate=20.0)
    status, err = restore(capsys, str(mseed), "--model", str(tiny_model), "--out-dir", "out")
    assert status == 1
    assert ("restore: failed: archive/brv.mseed: trace XX.BRV.00.SHZ is sampled at 20 Hz; a model trained at 40 Hz "
            "restores records sampled at 40 to 200 Hz: --method spline|pocs|aspade|cwr need no model and take any rate"
            ) in err, err
    assert not Path("out/brv.restored.mseed").exists()
    status, err = restore(capsys, str(mseed), "--method", "pocs", "--out-dir", "out")
    assert status == 0, err
    assert [trace.stats.sampling_rate for trace in obspy.read("out/brv.restored.mseed")] == [20.0, 20.0]
    assert ledger(Path("out"))[0]["traces"][0]["rates"] == {"record_hz": 20.0, "restored_hz": 20.0, "output_hz": 20.0}


def test_each_line_states_the_band_and_the_amplitude_counts_and_covers_the_band_and_table_files(
        banded, tmp_path, monkeypatch, capsys):
    import csv

    monkeypatch.chdir(tmp_path)
    mseed, _ = seismic_files(Path("archive"))
    (record,) = archive(Path("archive"), 1)
    assert restore(capsys, str(mseed), str(record), "--method", "banded", "--out-dir", "out")[0] == 0
    seismic, plain = ledger(Path("out"))
    band = {"description": BANDED_BAND_DESCRIPTION, "central_fraction": 0.9, "calibrated": True,
            "label": "90 % band"}
    for line, output in ((seismic, "out/brv.restored.mseed"), (plain, "out/station0/record000.restored.txt")):
        assert line["band"] == band and all(trace["band"] == band for trace in line["traces"])
        assert line["amplitudes_output"] == f"{output}.amplitudes.csv"
        assert line["amplitudes_output_sha256"] == sha256_file(line["amplitudes_output"])
        rows = list(csv.DictReader(open(line["amplitudes_output"])))
        assert line["amplitudes"] == {"runs": len(rows), "flagged": sum(row["flagged"] == "1" for row in rows),
                                      "flag_interval_log10": 0.3}
        assert [trace["amplitudes"]["runs"] for trace in line["traces"]] == [trace["clipped_runs"]
                                                                             for trace in line["traces"]]
    assert (seismic["lower_output"], seismic["upper_output"]) == ("out/brv.restored.lower.mseed",
                                                                  "out/brv.restored.upper.mseed")
    assert seismic["lower_output_sha256"] == sha256_file("out/brv.restored.lower.mseed")
    assert plain["lower_output"] is None and plain["status_output"] is None
    # A band file changed is named by verify-restorations, and its record restored again on resume.
    Path("out/brv.restored.upper.mseed").write_bytes(b"changed")
    capsys.readouterr()
    assert main(["verify-restorations", "out"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == ("out/brv.restored.upper.mseed: sha256 differs from the one "
                                                       "restorations.jsonl records for this upper bound")
    Path("out/station0/record000.restored.txt.amplitudes.csv").unlink()
    status, err = restore(capsys, str(mseed), str(record), "--method", "banded", "--out-dir", "out")
    assert status == 0 and err[-1].startswith("restore: restored 2, skipped 0 "), err
    assert main(["verify-restorations", "out"]) == 0
    # A method without a band: its line states none, and the band files of the earlier restoration go.
    assert restore(capsys, str(mseed), "--method", "spline", "--out-dir", "out")[0] == 0
    seismic = ledger(Path("out"))[0]
    assert seismic["band"] is None and {trace["band"] for trace in seismic["traces"]} == {None}
    assert seismic["amplitudes"]["flagged"] == seismic["amplitudes"]["runs"] > 0
    assert seismic["lower_output"] is None and not Path("out/brv.restored.lower.mseed").exists()
    assert not Path("out/brv.restored.upper.mseed").exists()
    assert main(["verify-restorations", "out"]) == 0


# --- output names ----------------------------------------------------------------------------

#: What an --out-dir written before restore_run.json recorded its naming (naming 1) calls the
#: outputs of test_an_earlier_folder_keeps_its_names: an ASCII record's whole name kept.
EARLIER_NAMES = {"archive/station0/record000.txt": ["out/station0/record000.txt.restored.txt"],
                 "archive/station1/record001.txt": ["out/station1/record001.txt.restored.txt"],
                 "archive/brv.msd": ["out/brv.msd.restored.mseed", "out/brv.msd.restored.status.mseed"]}


def earlier_folder(out: Path) -> None:
    """Make ``out`` the folder an earlier seisclip leaves: its outputs under their names of then,
    its lines naming them, no amplitude tables, its restore_run.json without ``output_naming``."""
    lines = ledger(out)
    for line in lines:
        for key, name in zip(("output", "status_output"), EARLIER_NAMES[line["input"]]):
            os.rename(line[key], name)
            line[key] = name
        os.remove(line.pop("amplitudes_output"))
        del line["amplitudes_output_sha256"]
    (out / "restorations.jsonl").write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
    run = json.loads((out / "restore_run.json").read_text())
    del run["output_naming"]
    (out / "restore_run.json").write_text(json.dumps(run))


def test_an_earlier_folder_keeps_its_names_when_resumed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = [str(path) for path in archive(Path("archive"), 3)]
    mseed, _ = seismic_files(Path("archive"))
    os.rename(mseed, "archive/brv.msd")
    first = [*records[:2], "archive/brv.msd"]
    assert restore(capsys, *first, "--method", "spline", "--out-dir", "out")[0] == 0
    assert json.loads(Path("out/restore_run.json").read_text())["output_naming"] == 2
    assert [line["output"] for line in ledger(Path("out"))] == [
        "out/station0/record000.restored.txt", "out/station1/record001.restored.txt", "out/brv.restored.msd"]
    earlier_folder(Path("out"))
    before = {path: path.read_bytes() for path in Path("out").rglob("*") if path.is_file()}

    # Its lines name no amplitude tables: their records are restored again, under the names they had.
    status, err = restore(capsys, *first, "--method", "spline", "--out-dir", "out")
    assert status == 0 and err[-1].startswith("restore: restored 3, skipped 0 "), err
    after = {path: path.read_bytes() for path in Path("out").rglob("*") if path.is_file()}
    tables = {Path(f"{names[0]}.amplitudes.csv") for names in EARLIER_NAMES.values()}
    assert set(after) == set(before) | tables
    assert all(after[path] == data for path, data in before.items()
               if path.name not in ("restore_run.json", "restorations.jsonl"))
    assert [line["amplitudes_output"] for line in ledger(Path("out"))] == [
        f"{names[0]}.amplitudes.csv" for names in EARLIER_NAMES.values()]
    assert json.loads(Path("out/restore_run.json").read_text())["output_naming"] == 1
    assert restore(capsys, *first, "--method", "spline", "--out-dir", "out")[1][-1].startswith(
        "restore: restored 0, skipped 3 ")
    # A record changed since, and one new to the folder, are named as the folder's others are.
    write_plain(Path(records[0]), wave(600, 99))
    status, err = restore(capsys, *first, records[2], "--method", "spline", "--out-dir", "out")
    assert status == 0 and err[-1].startswith("restore: restored 2, skipped 2 "), err
    assert [line["output"] for line in ledger(Path("out"))] == [
        "out/station0/record000.txt.restored.txt", "out/station1/record001.txt.restored.txt",
        "out/brv.msd.restored.mseed", "out/station0/record002.txt.restored.txt"]
    assert Path("out/station0/record000.txt.restored.txt").read_bytes() != before[
        Path("out/station0/record000.txt.restored.txt")]
    assert not [path for path in Path("out").rglob("*.restored.*") if path.name.startswith(("record000.r", "brv.r"))]
    assert main(["verify-restorations", "out"]) == 0


@pytest.mark.bad_input("archive-unknown-output-naming")
def test_a_folder_recording_an_unknown_naming_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 1)
    Path("out").mkdir()
    run = {"kind": "seisclip restore run", "records": [], "output_naming": 3}
    Path("out/restore_run.json").write_text(json.dumps(run))
    assert error_line(capsys, main, ["restore", str(records[0]), "--method", "spline", "--out-dir", "out"]) == (
        "seisclip restore: error: out/restore_run.json: records output naming 3, which this seisclip does not know "
        "(it names outputs by 1, 2): choose another --out-dir")
    assert json.loads(Path("out/restore_run.json").read_text()) == run
    assert not Path("out/restorations.jsonl").exists() and not Path("out/station0").exists()


@pytest.mark.bad_input("archive-output-collision")
def test_two_records_whose_outputs_would_share_a_name_restore_the_first_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_plain(Path("archive/r"), wave(600, 1))
    write_plain(Path("archive/r.txt"), wave(600, 2))
    status, err = restore(capsys, "archive/r", "archive/r.txt", "--method", "spline", "--out-dir", "out")
    assert status == 1
    assert ("restore: failed: output out/r.restored.txt is already the output of archive/r (their names differ "
            "only by a suffix outputs drop): restore one of them into another --out-dir") in err, err
    assert [line["input"] for line in ledger(Path("out"))] == ["archive/r"]
    assert "source archive/r)" in Path("out/r.restored.txt").read_text().splitlines()[0]
    # A rerun skips the first and refuses the second again.
    status, err = restore(capsys, "archive/r", "archive/r.txt", "--method", "spline", "--out-dir", "out")
    assert status == 1 and err[-1].startswith("restore: restored 0, skipped 1 (unchanged since an earlier run), "
                                              "failed 1; "), err


# --- interruptions ----------------------------------------------------------------------------

def test_a_rerun_removes_the_half_written_outputs_a_killed_run_left_in_record_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 2)
    writer = subprocess.Popen(["true"])
    writer.wait()
    left = Path("out/station1") / f".record001.restored.txt.{writer.pid}.k3x9_a.tmp"
    left.parent.mkdir(parents=True)
    left.write_text("half a record")
    alive = Path("out/station1") / f".record001.restored.txt.{os.getpid()}.k3x9_a.tmp"
    alive.write_text("a live writer's")
    status, err = restore(capsys, *map(str, records), "--method", "pocs", "--out-dir", "out")
    assert status == 0, err
    assert not left.exists() and alive.exists()
    assert "note: removed 1 temporary under out left by interrupted runs" in err
    assert sorted(path.name for path in Path("out/station1").iterdir()) == [alive.name, "record001.restored.txt",
                                                                            "record001.restored.txt.amplitudes.csv"]


def test_a_run_killed_at_random_points_ends_as_an_uninterrupted_one_when_rerun(tmp_path):
    records = archive(tmp_path / "archive", 60, samples=8000)
    command = [sys.executable, "-m", "seisclip", "restore", *[str(path.relative_to(tmp_path)) for path in records],
               "--method", "pocs", "--quiet"]
    started = time.perf_counter()
    subprocess.run([*command, "--out-dir", "reference"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    duration = time.perf_counter() - started
    reference = {path.relative_to(tmp_path / "reference"): path.read_bytes()
                 for path in (tmp_path / "reference").rglob("*") if path.is_file() and path.name != "restore_run.json"}
    rng = np.random.default_rng(20261204)
    killed_while_running, killed_midway = 0, 0
    for attempt in range(10):
        out = f"killed{attempt}"
        process = subprocess.Popen([*command, "--out-dir", out], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.0) * duration)
        killed_while_running += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
        log = tmp_path / out / "restorations.jsonl"
        killed_midway += log.exists() and 0 < len(log.read_bytes().splitlines()) < len(records)
        subprocess.run([*command, "--out-dir", out], cwd=tmp_path, check=True, capture_output=True, timeout=300)
        result = {path.relative_to(tmp_path / out): path.read_bytes()
                  for path in (tmp_path / out).rglob("*") if path.is_file() and path.name != "restore_run.json"}
        assert set(result) == set(reference), attempt
        for name, data in reference.items():
            if name.name == "restorations.jsonl":
                expected = without_times([json.loads(line.replace(b'"reference/', f'"{out}/'.encode()))
                                          for line in data.splitlines()])
                assert without_times([json.loads(line) for line in result[name].splitlines()]) == expected, attempt
            else:
                assert result[name] == data, (attempt, name)
        assert not list((tmp_path / out).rglob(".*.tmp")), attempt
    assert killed_while_running >= 5 and killed_midway >= 3
    print(f"\nkill test, restore --out-dir: 10 SIGKILLs, {killed_while_running} while running, {killed_midway} of them "
          f"after some records were restored (uninterrupted run {duration:.1f} s); every rerun ended with the "
          "uninterrupted run's files")


def test_the_single_record_form_and_its_options_stay_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = archive(Path("archive"), 2)
    assert error_line(capsys, main, ["restore", *map(str, records), "--method", "spline"]) == (
        "seisclip restore: error: several records (or --records-from) need --out-dir DIR for their outputs")
    assert error_line(capsys, main, ["restore", str(records[0]), "--method", "spline", "--shard", "1/2"]) == (
        "seisclip restore: error: --shard and --jobs are for restoring many records: give --out-dir")
    assert error_line(capsys, main, ["restore", str(records[0]), "--method", "spline", "--out-dir", "o",
                                     "--shard", "3/2"]) == "seisclip restore: error: --shard 3/2: K must be between 1 and N"
    assert os.path.isfile(records[0])

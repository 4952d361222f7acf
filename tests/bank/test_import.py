"""``seisclip bank import``: seismic data files (ObsPy's packaged samples, CREDIT-X1local-style HDF5)
into a bank; clipped-trace detection; then selection and training on the imported bank."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import obspy
import pytest
import scipy.signal

from seisclip.bank.clipping import detect_clipping
from seisclip.bank.hdf5 import Bank
from seisclip.bank.importing import import_to_bank, process, valid_runs
from seisclip.bank.settings import ImportSettings
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.errors import SeisclipError

OBSPY_DATA = Path(obspy.__file__).parent / "io"
#: ObsPy's own test files, shipped with the package: no download.
GAPS = OBSPY_DATA / "mseed/tests/data/gaps.mseed"                       # BW.BGLD..EHE, 200 Hz, 4 traces between gaps
NATIVE_40HZ = OBSPY_DATA / "mseed/tests/data/test.mseed"                 # NL.HGN.00.BHZ, 40 Hz, int32
MONN = OBSPY_DATA / "mseed/tests/data/1T_MONN_00_EDH.mseed"              # 125 Hz
WUQ = OBSPY_DATA / "mseed/tests/data/WUQ.XJ.HHN.D.2008.285.first_record"  # 100 Hz
TWO_CHANNELS_1HZ = OBSPY_DATA / "mseed/tests/data/CH.BALST..LH_two_channels"
SAC = OBSPY_DATA / "sac/tests/data/seism.sac"                            # 100 Hz, float32
PACKAGED = [GAPS, NATIVE_40HZ, MONN, WUQ, TWO_CHANNELS_1HZ, SAC]
SETTINGS = ImportSettings()


def stored_traces(path) -> dict[str, np.ndarray]:
    with Bank(path) as bank:
        return {name: bank.trace_values(number).astype(np.float64) for number, name in enumerate(bank.names)}


def trace_columns(path, *columns) -> list[tuple]:
    with h5py.File(path) as bank:
        table = bank["traces"]
        values = [table[column].asstr()[()] if table[column].dtype.kind == "O" else table[column][()]
                  for column in columns]
    return list(zip(*values))


def test_packaged_files_import_one_trace_per_contiguous_run(tmp_path, capsys):
    summary = import_to_bank([str(path) for path in PACKAGED], str(tmp_path / "bank.h5"), SETTINGS, progress=False)
    report = json.loads((tmp_path / "bank.import.json").read_text())

    gaps = obspy.read(str(GAPS))
    gap_names = [f"BW.BGLD..EHE.{trace.stats.starttime.datetime:%Y%m%dT%H%M%S.%f}Z" for trace in gaps]
    traces = stored_traces(tmp_path / "bank.h5")
    # Gaps split the file into 4 traces; the first (412 samples at 200 Hz, 83 at 40 Hz) is too short.
    assert [name in traces for name in gap_names] == [False, True, True, True]
    assert [traces[name].size for name in gap_names[1:]] == [165, 165, 10134]
    # A 40 Hz integer trace is stored exactly as recorded.
    native = obspy.read(str(NATIVE_40HZ))[0]
    native_name = f"NL.HGN.00.BHZ.{native.stats.starttime.datetime:%Y%m%dT%H%M%S.%f}Z"
    np.testing.assert_array_equal(traces[native_name], native.data)
    # The 1 Hz channels are slower than the bank: left out, with the reason.
    excluded = [(entry["id"], entry["reason"]) for entry in report["excluded"]]
    assert ("CH.BALST..LHE", "sampling rate below the bank's") in excluded
    assert ("CH.BALST..LHZ", "sampling rate below the bank's") in excluded
    assert ("BW.BGLD..EHE", "too short") in excluded
    assert len(traces) == report["summary"]["imported_traces"] == 7
    assert summary.startswith(f"{tmp_path / 'bank.h5'}: 7 traces")

    columns = dict((name, rest) for name, *rest in zip(*zip(*trace_columns(
        tmp_path / "bank.h5", "name", "seed_id", "starttime", "original_sampling_rate", "source_path",
        "processing", "source_sha256"))))
    seed_id, start, rate, source, processing, digest = columns[native_name]
    assert (seed_id, rate, processing) == ("NL.HGN.00.BHZ", 40.0, "")
    assert start == native.stats.starttime.datetime.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert source == str(NATIVE_40HZ)
    assert digest.decode() == report["sources"][1]["sha256"]
    assert columns[gap_names[3]][4].startswith("resampled 200 -> 40 Hz")
    assert Bank(tmp_path / "bank.h5").sampling_rate == 40.0


def test_masked_and_nan_samples_never_enter_the_bank():
    values = np.ma.masked_array(np.arange(1000, dtype=np.float64), mask=np.zeros(1000, dtype=bool))
    values[300:310] = np.ma.masked
    values.data[600] = np.nan
    assert valid_runs(values) == [(0, 300), (310, 600), (601, 1000)]
    assert valid_runs(np.array([np.nan, 1.0, 2.0, np.inf])) == [(1, 3)]


def test_a_nan_run_in_a_sac_file_splits_its_trace(tmp_path):
    data = (1000 * np.sin(np.arange(2000) / 7.0)).astype(np.float32)
    data[900:950] = np.nan
    trace = obspy.Trace(data, header={"network": "XX", "station": "NAN", "channel": "BHZ", "sampling_rate": 40.0,
                                      "starttime": obspy.UTCDateTime(2020, 1, 1)})
    trace.write(str(tmp_path / "nan.sac"), format="SAC")
    import_to_bank([str(tmp_path / "nan.sac")], str(tmp_path / "bank.h5"), SETTINGS, progress=False)
    traces = stored_traces(tmp_path / "bank.h5")
    assert sorted((name, values.size) for name, values in traces.items()) == [
        ("XX.NAN..BHZ.20200101T000000.000000Z", 900), ("XX.NAN..BHZ.20200101T000023.750000Z", 1050)]
    assert all(np.all(np.isfinite(values)) for values in traces.values())


def clipped_sine(level: float, rate: float = 40.0, n: int = 4000, seed: int = 0) -> np.ndarray:
    """Integer counts of a decaying 1.3 Hz signal with noise, clipped at ``level`` x its peak."""
    t = np.arange(n) / rate
    signal = 20_000 * np.exp(-t / 40) * np.sin(2 * np.pi * 1.3 * t) + np.random.default_rng(seed).normal(0, 30, n)
    signal = np.rint(signal)
    limit = np.rint(level * np.abs(signal).max())
    return np.clip(signal, -limit, limit).astype(np.int32)


def test_the_import_preset_finds_flat_runs_at_the_extremes_but_not_smooth_peaks():
    assert detect_clipping(clipped_sine(0.5), "import").clipped
    assert detect_clipping(clipped_sine(0.9), "import").clipped
    assert not detect_clipping(clipped_sine(1.0), "import").clipped
    # A slow, quantised oscillation sampled fast stays on its peak value for many samples, but leaves it
    # one count at a time: a peak, not clipping.
    slow = np.rint(200 * np.sin(2 * np.pi * 0.2 * np.arange(4000) / 200.0)).astype(np.int32)
    found = detect_clipping(slow, "import")
    assert not found.clipped and found.quantum == 1.0
    assert detect_clipping(np.full(50, 7), "import").constant


def write_mseed(path: Path, data: np.ndarray, station: str, rate: float = 40.0) -> None:
    obspy.Trace(data, header={"network": "XX", "station": station, "channel": "HHZ", "sampling_rate": rate,
                              "starttime": obspy.UTCDateTime(2021, 3, 4, 5, 6, 7)}).write(str(path), format="MSEED")


def test_clipped_traces_are_left_out_and_reported_unless_kept(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    write_mseed(folder / "clipped.mseed", clipped_sine(0.6), "CLIP")
    write_mseed(folder / "clean.mseed", clipped_sine(1.0, seed=1), "GOOD")
    (folder / "notes.txt").write_text("not a waveform\n")   # skipped: found in a folder

    summary = import_to_bank([str(folder)], str(tmp_path / "bank.h5"), SETTINGS, progress=False)
    err = capsys.readouterr().err
    assert list(stored_traces(tmp_path / "bank.h5")) == ["XX.GOOD..HHZ.20210304T050607.000000Z"]
    assert "left out: 1 clipped; 1 not a waveform file (found in a folder)" in summary
    assert f"warning: clipped, left out: XX.CLIP..HHZ from 2021-03-04T05:06:07.000000Z ({folder / 'clipped.mseed'}" in err
    report = json.loads((tmp_path / "bank.import.json").read_text())
    (clipped,) = [entry for entry in report["excluded"] if entry["reason"] == "clipped"]
    assert clipped["id"] == "XX.CLIP..HHZ" and clipped["clipping"]["clipped_runs"] >= 4

    kept = ImportSettings(keep_clipped=True)
    import_to_bank([str(folder)], str(tmp_path / "kept.h5"), kept, progress=False)
    assert "warning: clipped, imported, flagged: XX.CLIP..HHZ" in capsys.readouterr().err
    flags = dict(trace_columns(tmp_path / "kept.h5", "station", "clipped"))
    assert flags == {"CLIP": True, "GOOD": False}


def test_resampling_keeps_the_band_below_the_new_nyquist_and_removes_what_is_above():
    rate = 200.0
    t = np.arange(8000) / rate
    low, _ = process(np.sin(2 * np.pi * 2.0 * t), rate, SETTINGS)
    t40 = np.arange(low.size) / 40.0
    middle = slice(100, -100)   # away from the filter's edges
    np.testing.assert_allclose(low[middle], np.sin(2 * np.pi * 2.0 * t40)[middle], atol=0.01)
    aliased, steps = process(np.sin(2 * np.pi * 30.0 * t), rate, SETTINGS)   # above 20 Hz: would alias to 10 Hz
    assert np.sqrt(np.mean(aliased[middle] ** 2)) < 0.01
    assert steps == ["resampled 200 -> 40 Hz (scipy.signal.resample_poly, up 1, down 5)"]


@pytest.mark.parametrize("detrend, check", [("demean", lambda v: abs(v.mean()) < 1e-9),
                                            ("linear", lambda v: abs(np.polyfit(np.arange(v.size), v, 1)[0]) < 1e-9)])
def test_detrending_before_resampling(detrend, check):
    values = 500 + 0.3 * np.arange(1000) + np.sin(np.arange(1000) / 5.0)
    processed, steps = process(values, 40.0, ImportSettings(detrend=detrend))
    assert check(processed) and len(steps) == 1


def write_credit_layout(path: Path, with_btime: bool = True) -> None:
    """A small file laid out like CREDIT-X1local: events -> NET.STATION -> component datasets."""
    rng = np.random.default_rng(3)
    with h5py.File(path, "w") as data:
        for event, start in (("YN.201103130305.0001", "2011/03/13 03:05:10.250000"),
                             ("YN.201103140101.0002", "2011/03/14 01:01:00.000000")):
            group = data.create_group(event)
            group.attrs["mag"] = 2.5
            station = group.create_group("X1.00111")
            station.attrs["Pg"] = "2011/03/13 03:05:20.000000"
            for component in ("BHE", "BHN", "BHZ"):
                wave = station.create_dataset(component, data=rng.integers(-5000, 5000, 20_000).astype(np.int32))
                if with_btime:
                    wave.attrs["btime"] = start


def test_credit_x1local_layout_imports_every_component(tmp_path):
    write_credit_layout(tmp_path / "credit.h5")
    import_to_bank([str(tmp_path / "credit.h5")], str(tmp_path / "bank.h5"), SETTINGS, progress=False)
    traces = stored_traces(tmp_path / "bank.h5")
    assert sorted(traces) == sorted(f"X1.00111..{component}.{start}Z" for start in ("20110313T030510.250000",
                                                                               "20110314T010100.000000")
                              for component in ("BHE", "BHN", "BHZ"))
    assert {values.size for values in traces.values()} == {8000}   # 20,000 at 100 Hz -> 8,000 at 40 Hz
    items = dict(trace_columns(tmp_path / "bank.h5", "name", "source_item"))
    assert items["X1.00111..BHZ.20110313T030510.250000Z"] == "/YN.201103130305.0001/X1.00111/BHZ"
    report = json.loads((tmp_path / "bank.import.json").read_text())
    assert {trace["rate_source"] for trace in report["traces"]} == {"--hdf5-rate (the file gives none)"}


def test_import_to_the_ascii_format_feeds_the_users_pipeline(tmp_path, run):
    code, out, err = run("seisclip", "bank", "import", str(GAPS), str(NATIVE_40HZ), "--ascii-dir", "outfiles",
                         "--metadata", "outfiles_contents_reordered.txt", "--quiet")
    assert code == 0, err
    metadata = (tmp_path / "outfiles_contents_reordered.txt").read_text().splitlines()
    assert len(metadata) == 4 and (tmp_path / "outfiles_contents_reordered.import.json").is_file()
    native = obspy.read(str(NATIVE_40HZ))[0]
    name = f"NL.HGN.00.BHZ.{native.stats.starttime.datetime:%Y%m%dT%H%M%S.%f}Z"
    assert (tmp_path / "outfiles" / name).read_text() == "".join(f"{value}\n" for value in native.data.tolist())
    code, _, err = run("select_training_samples.py", "--number_of_consecutive_samples", "128",
                       "--number_of_training_segments", "50", "--output_file", "indices_files/imp_128_50.txt")
    assert code == 0, err
    code, out, _ = run("seisclip", "verify", "indices_files/imp_128_50.txt")
    assert code == 0 and out.startswith("verify: OK"), out


def test_imported_bank_then_selection_then_training_end_to_end(tmp_path, run):
    """The acceptance path: ObsPy's packaged files -> bank -> seeded selection from it -> def001."""
    code, out, err = run("seisclip", "bank", "import", *map(str, PACKAGED), "--out", "bank.h5", "--quiet")
    assert code == 0, err
    code, _, err = run("seisclip", "select", "--bank", "bank.h5", "--number_of_consecutive_samples", "64",
                       "--number_of_training_segments", "400", "--output_file", "indices_files/imp_64_400.txt")
    assert code == 0, err
    lines = (tmp_path / "indices_files/imp_64_400.txt").read_text().splitlines()
    assert len(lines) == 400 and all(line.split()[2].startswith("bank.h5/") for line in lines)
    selection = json.loads((tmp_path / "indices_files/imp_64_400.json").read_text())
    assert selection["bank"]["origin"] == "seisclip bank import" and "metadata_file" not in selection
    code, out, _ = run("seisclip", "verify", "indices_files/imp_64_400.txt")
    assert code == 0 and out.startswith("verify: OK"), out

    code, _, err = run("run_create_and_train_model.sh", "64", "imp_64_400", "def001", "--epochs", "1")
    assert code == 1 and err.strip().splitlines()[-1] == (
        "create_and_train_model_def001.py: error: indices_files/imp_64_400.txt: index file was drawn from the "
        "HDF5 bank bank.h5: add --bank bank.h5")
    code, _, err = run("run_create_and_train_model.sh", "64", "imp_64_400", "def001", "--bank", "bank.h5",
                       "--epochs", "1", "--batch_size", "32", "--quiet")
    assert code == 0, err
    model_dir = tmp_path / "models/imp_64_400_def001"
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["bank"]["kind"] == "hdf5" and manifest["bank"]["origin"] == "seisclip bank import"
    assert manifest["segment_counts"]["train"] > 100
    model = keras.models.load_model(model_dir / "model.keras")
    assert np.all(np.isfinite(model.predict(np.zeros((2, 64, 2)), verbose=0)))
    code, out, err = run("seisclip", "trace", str(model_dir))
    assert code == 0, err
    assert "bank.h5/NL.HGN.00.BHZ." in out
    assert err.strip().endswith("index file and the bank bank.h5 (7 traces) match the recorded sha256")
    # evaluate reads the test split back from the bank the model was trained from
    code, out, err = run("seisclip", "evaluate", "--model", str(model_dir), "--quiet")
    assert code == 0, err
    evaluation = json.loads((tmp_path / "evaluations/imp_64_400_def001_test/evaluation.json").read_text())
    assert evaluation["source"] == "test split"
    assert 0 < sum(row["signals"] for row in evaluation["metrics"]["model"]) <= manifest["segment_counts"]["test"]


def test_verify_reports_a_bank_changed_after_selection(tmp_path, run):
    assert run("seisclip", "bank", "import", str(NATIVE_40HZ), "--out", "bank.h5", "--quiet")[0] == 0
    assert run("seisclip", "select", "--bank", "bank.h5", "--number_of_consecutive_samples", "64",
               "--number_of_training_segments", "20", "--output_file", "set_64_20.txt")[0] == 0
    assert run("seisclip", "bank", "import", str(NATIVE_40HZ), str(WUQ), "--out", "bank.h5", "--overwrite",
               "--quiet")[0] == 0
    code, out, _ = run("seisclip", "verify", "set_64_20.txt")
    assert code == 1
    assert "bank.h5: sha256" in out and "(the bank changed)" in out


# --- bad input -------------------------------------------------------------------------------

def error_of(run, *args) -> str:
    code, out, err = run("seisclip", "bank", "import", *args, "--quiet")
    assert code == 1 and out == "", (out, err)
    (line,) = err.strip().splitlines()
    return line


@pytest.mark.bad_input("import-not-waveform")
def test_a_named_file_that_is_no_waveform_is_an_error(tmp_path, run):
    (tmp_path / "notes.txt").write_text("hello\n")
    line = error_of(run, str(NATIVE_40HZ), "notes.txt", "--out", "bank.h5")
    assert line.startswith("seisclip bank: error: notes.txt: not a waveform file ObsPy reads (")
    assert not (tmp_path / "bank.h5").exists()


@pytest.mark.bad_input("import-not-waveform")
def test_with_strict_a_folder_file_that_is_no_waveform_is_an_error(tmp_path, run):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/notes.txt").write_text("hello\n")
    line = error_of(run, "data", "--out", "bank.h5", "--strict")
    assert line.startswith("seisclip bank: error: data/notes.txt: not a waveform file ObsPy reads")


@pytest.mark.bad_input("import-source-missing")
def test_a_missing_source_is_an_error(tmp_path, run):
    assert error_of(run, "nowhere.mseed", "--out", "bank.h5") == "seisclip bank: error: nowhere.mseed: source file not found"


@pytest.mark.bad_input("import-nothing-left")
def test_sources_with_nothing_to_import_are_an_error(tmp_path, run):
    line = error_of(run, str(TWO_CHANNELS_1HZ), "--out", "bank.h5")
    assert line == "seisclip bank: error: no trace left to import (2 sampling rate below the bank's)"
    assert not (tmp_path / "bank.h5").exists() and not (tmp_path / "bank.import.json").exists()


@pytest.mark.bad_input("import-output-exists")
def test_existing_outputs_are_never_replaced_without_overwrite(tmp_path, run):
    (tmp_path / "bank.h5").write_bytes(b"precious")
    line = error_of(run, str(NATIVE_40HZ), "--out", "bank.h5")
    assert line.startswith("seisclip bank: error: bank.h5: ") and "--overwrite" in line
    assert (tmp_path / "bank.h5").read_bytes() == b"precious"
    (tmp_path / "outfiles").mkdir()
    line = error_of(run, str(NATIVE_40HZ), "--ascii-dir", "outfiles", "--metadata", "contents.txt")
    assert "outfiles" in line and "--overwrite" in line
    assert not (tmp_path / "contents.txt").exists()


@pytest.mark.bad_input("import-output-choice")
@pytest.mark.parametrize("outputs", [[], ["--out", "b.h5", "--ascii-dir", "a"], ["--ascii-dir", "a"]])
def test_one_output_must_be_chosen(tmp_path, run, outputs):
    line = error_of(run, str(NATIVE_40HZ), *outputs)
    assert line.startswith("seisclip bank: error: ") and "--ascii-dir" in line


@pytest.mark.bad_input("import-credit-layout")
def test_an_hdf5_file_not_in_the_credit_layout_names_the_dataset(tmp_path, run):
    write_credit_layout(tmp_path / "nobtime.h5", with_btime=False)
    line = error_of(run, "nobtime.h5", "--out", "bank.h5")
    assert line == ("seisclip bank: error: nobtime.h5: /YN.201103130305.0001/X1.00111/BHE has no 'btime' "
                    "attribute (its start time)")
    with h5py.File(tmp_path / "flat.h5", "w") as flat:
        flat.create_dataset("waveform", data=np.zeros(10))
    line = error_of(run, "flat.h5", "--out", "bank.h5")
    assert line.startswith("seisclip bank: error: flat.h5: /waveform is not an event group")


@pytest.mark.bad_input("import-no-obspy")
def test_without_obspy_reading_seismic_formats_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "obspy", None)   # as if not installed
    with pytest.raises(SeisclipError) as error:
        import_to_bank([str(NATIVE_40HZ)], str(tmp_path / "bank.h5"), SETTINGS, progress=False)
    assert str(error.value) == (f"{NATIVE_40HZ}: reading miniSEED, SAC and other seismic formats needs ObsPy: "
                                "pip install 'seisclip[io]'")
    # HDF5 sources need no ObsPy.
    write_credit_layout(tmp_path / "credit.h5")
    import_to_bank([str(tmp_path / "credit.h5")], str(tmp_path / "bank.h5"), SETTINGS, progress=False)



@pytest.mark.bad_input("import-bad-setting")
@pytest.mark.parametrize("option, value, message", [
    ("--sampling-rate", "0", "sampling rate must be a positive number, got 0.0"),
    ("--clip-run", "1", "--clip-run must be at least 2 (one extreme sample is a peak), got 1"),
    ("--hdf5-rate", "nan", "--hdf5-rate must be a positive number, got nan"),
])
def test_unusable_settings_are_one_clear_error(tmp_path, run, option, value, message):
    assert error_of(run, str(NATIVE_40HZ), "--out", "bank.h5", option, value) == f"seisclip bank: error: {message}"


def test_evaluate_reads_records_from_miniseed_and_from_an_hdf5_bank(tmp_path, run):
    """evaluate --records takes what bank import takes: a 100 Hz miniSEED record is resampled to
    40 Hz and clipped at each level; a bank gives every trace."""
    truth = synthetic_seismogram(np.random.default_rng(11), 4000)
    at_100_hz = np.round(scipy.signal.resample_poly(truth.astype(np.float64), 5, 2)).astype(np.int32)
    write_mseed(tmp_path / "event.mseed", at_100_hz, "EVT", rate=100.0)
    code, _, err = run("seisclip", "evaluate", "--records", "event.mseed", "--clip-levels", "0.5", "0.7",
                       "--quiet", "--out-dir", "from_mseed")
    assert code == 0, err
    evaluation = json.loads((tmp_path / "from_mseed/evaluation.json").read_text())
    assert [row["bin"] for row in evaluation["metrics"]["spline"]] == ["0.5-0.6", "0.7-0.8"]
    assert all(row["signals"] == 1 for row in evaluation["metrics"]["clipped input"])

    code, _, err = run("seisclip", "bank", "import", "event.mseed", "--out", "bank.h5", "--quiet")
    assert code == 0, err
    code, _, err = run("seisclip", "evaluate", "--records", "bank.h5", "--clip-levels", "0.5", "--quiet",
                       "--out-dir", "from_bank")
    assert code == 0, err
    rows = json.loads((tmp_path / "from_bank/evaluation.json").read_text())["metrics"]["pocs"]
    assert rows[0]["signals"] == 1 and rows[0]["clipped_samples"] > 0

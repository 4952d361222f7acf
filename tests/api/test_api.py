"""The Python API: seisclip.load_model(...).restore(...) and seisclip.restore(...) on ObsPy streams,
traces and NumPy arrays; the same estimate as the command line's; import seisclip stays light."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import obspy
import pytest

import seisclip
from seisclip.api import model as api_model
from seisclip.bank.clipping import detect_clipping
from seisclip.cli import main
from seisclip.errors import SeisclipError
from seisclip.restore.baselines import restore_pocs
from seisclip.restore.methods import Band
from seisclip.sets.labels import clip_signal

from conftest import BANDED_BAND_DESCRIPTION, REPO_ROOT, run_in_process

START = obspy.UTCDateTime(2024, 5, 6, 7, 8, 9, 100000)
CLIP_COUNTS = 1500.0


@pytest.fixture(scope="module")
def model(tiny_model) -> api_model.Model:
    return seisclip.load_model(tiny_model)


def clipped_wave(samples: int, rate_hz: float, seed: int) -> np.ndarray:
    """Whole counts of a wave packet peaking near 3000, clipped at ±CLIP_COUNTS by seisclip's clip."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate_hz
    truth = (3000 * np.exp(-((t - t[-1] * rng.uniform(0.3, 0.7)) / (t[-1] / 6)) ** 2)
             * np.sin(2 * np.pi * rng.uniform(0.8, 3.0) * t) + rng.normal(0, 20, samples))
    return clip_signal(np.round(truth), CLIP_COUNTS)[0]


def stream_of(rate_hz: float, samples: int, channels=("HHZ", "HHN", "HHE")) -> obspy.Stream:
    return obspy.Stream([obspy.Trace(clipped_wave(samples, rate_hz, seed).astype(np.int32), header={
        "network": "XX", "station": "API", "location": "00", "channel": channel, "sampling_rate": rate_hz,
        "starttime": START + seed}) for seed, channel in enumerate(channels)])


def assert_restored(before: obspy.Trace, after: obspy.Trace) -> None:
    """Header kept; unclipped samples bit-identical (as numbers); clipped ones at or beyond the level."""
    for key in ("network", "station", "location", "channel", "starttime", "sampling_rate", "npts"):
        assert after.stats[key] == before.stats[key], key
    assert after.data.dtype == np.float64
    clipped = np.abs(before.data) >= CLIP_COUNTS
    assert clipped.sum() > 10
    assert np.array_equal(after.data[~clipped], before.data[~clipped])
    assert np.all(after.data[clipped] * np.sign(before.data[clipped]) >= CLIP_COUNTS)


def test_import_seisclip_loads_neither_tensorflow_nor_obspy_and_exposes_the_api():
    code = ("import sys, seisclip; "
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'obspy', 'tensorflow', 'keras', 'scipy'}); "
            "import seisclip.restore.registry; "
            "print(heavy, callable(seisclip.restore), seisclip.load_model.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True", "seisclip.api.model"]


def test_a_stream_of_three_100_hz_traces_is_restored_at_its_own_rate_in_one_prediction(model, monkeypatch):
    stream = stream_of(100.0, 3000)
    kept = stream.copy()
    batches = []
    restore_all = model.restorer.restore_all
    monkeypatch.setattr(model.restorer, "restore_all",
                        lambda records, *args: batches.append(len(records)) or restore_all(records, *args))
    restored = model.restore(stream)
    assert batches == [3]   # the three traces' windows predicted together
    assert isinstance(restored, obspy.Stream) and [t.id for t in restored] == [t.id for t in stream]
    for before, after in zip(stream, restored):
        assert_restored(before, after)
        assert after.stats.processing[-1] == (
            f"seisclip {seisclip.__version__}: restore(method='hybrid', model='tiny_32', "
            f"model_sha256='{model.sha256}', record_hz=100.0, restored_hz=40.0, output_hz=100.0)")
    assert all(np.array_equal(a.data, b.data) and a.data.dtype == np.int32 for a, b in zip(stream, kept))
    assert all("processing" not in trace.stats for trace in stream)   # the caller's traces are untouched

    result = model.restoration(stream)
    assert (result.method, result.model_name, result.model_sha256) == ("hybrid", "tiny_32", model.sha256)
    for before, trace in zip(stream, result.traces):
        assert trace.id == before.id and (trace.lower, trace.upper) == (None, None)
        assert (trace.clip_high_counts, trace.clip_low_counts) == (CLIP_COUNTS, -CLIP_COUNTS)
        # Found by the detector's restore preset, as restore finds them in a file: runs of two or more.
        np.testing.assert_array_equal(trace.status, detect_clipping(before.data.astype(np.float64), "restore").status)
        assert trace.clipped_samples > 10
        assert sum(stop - start for start, stop in trace.clipped_runs) == trace.clipped_samples
        assert (trace.rates.record_hz, trace.rates.restored_hz, trace.rates.output_hz) == (100.0, 40.0, 100.0)
    np.testing.assert_array_equal(result.stream()[1].data, restored[1].data)


def test_output_rate_model_gives_the_whole_trace_at_the_models_rate(model):
    stream = stream_of(100.0, 3000, channels=("HHZ",))
    trace = model.restore(stream[0], output_rate="model")
    assert isinstance(trace, obspy.Trace)
    assert (trace.stats.sampling_rate, trace.stats.npts, trace.stats.starttime) == (40.0, 1200, START)
    assert trace.stats.processing[-1].endswith("record_hz=100.0, restored_hz=40.0, output_hz=40.0)")


def test_an_array_is_restored_as_an_array_and_a_classic_method_needs_no_model():
    values = clipped_wave(2000, 40.0, 5)
    restored = seisclip.restore(values, method="pocs", sampling_rate=40.0)
    status = detect_clipping(values, "restore").status
    assert isinstance(restored, np.ndarray) and restored.dtype == np.float64
    np.testing.assert_array_equal(restored, restore_pocs(values, status, CLIP_COUNTS, -CLIP_COUNTS))
    # A classic method restores at the array's own rate, whatever it is: nothing is resampled.
    result = api_model.restoration(values, method="spline", sampling_rate=1.0)
    assert (result.traces[0].rates.restored_hz, result.model_name) == (1.0, None)
    # The caller may say which samples are clipped.
    mask = np.zeros(values.size, dtype=bool)
    mask[np.flatnonzero(np.abs(values) >= CLIP_COUNTS)[:3]] = True
    by_mask = api_model.restoration(values, method="pocs", sampling_rate=40.0, mask=mask).traces[0]
    assert by_mask.clipped_samples == 3 and np.array_equal(by_mask.status != 0, mask)


def test_an_array_at_100_hz_is_restored_by_the_model_at_its_own_rate(model):
    values = clipped_wave(2500, 100.0, 6)
    restored = model.restore(values, sampling_rate=100.0, method="model")
    clipped = np.abs(values) >= CLIP_COUNTS
    assert restored.shape == values.shape and np.array_equal(restored[~clipped], values[~clipped])
    assert np.all(restored[clipped] * np.sign(values[clipped]) >= CLIP_COUNTS)


def test_the_recommended_method_without_a_model_loads_the_reference_model_once(model, monkeypatch):
    loaded = []
    monkeypatch.setattr(api_model, "load_model", lambda name: loaded.append(name) or model)
    api_model.reference_model.cache_clear()
    try:
        values = clipped_wave(2000, 40.0, 7)
        first = seisclip.restore(values, sampling_rate=40.0)
        second = seisclip.restore(values, sampling_rate=40.0)
    finally:
        api_model.reference_model.cache_clear()
    assert loaded == ["reference"]
    np.testing.assert_array_equal(first, model.restore(values, sampling_rate=40.0))
    np.testing.assert_array_equal(first, second)


def test_the_apis_estimate_is_the_command_lines_for_a_record_and_for_a_100_hz_archive(tiny_model, model,
                                                                                     tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    values = clipped_wave(1500, 40.0, 8)
    Path("record.txt").write_text("".join(f"{int(v)}\n" for v in values))
    stream = stream_of(100.0, 2000, channels=("HHZ", "HHN"))
    stream.write("record.mseed", format="MSEED")
    for method in ("hybrid", "model", "pocs"):
        status, _, err = run_in_process(capsys, main, ["restore", "record.txt", "--model", str(tiny_model),
                                                       "--method", method, "--out", f"{method}.txt"])
        assert status == 0, err
        by_command = np.loadtxt(f"{method}.txt", skiprows=1)[:, 3]
        np.testing.assert_allclose(model.restore(values, method=method, sampling_rate=40.0), by_command,
                                   rtol=0, atol=1e-6 * CLIP_COUNTS)
        status, _, err = run_in_process(capsys, main, ["restore", "record.mseed", "--model", str(tiny_model),
                                                       "--method", method, "--out-dir", method, "--quiet"])
        assert status == 0, err
        by_archive = obspy.read(f"{method}/record.restored.mseed")
        for ours, theirs in zip(model.restore(obspy.read("record.mseed"), method=method), by_archive):
            np.testing.assert_allclose(ours.data, theirs.data, rtol=0, atol=1e-6 * CLIP_COUNTS)


def test_the_result_carries_each_traces_band_and_amplitude_table_as_the_command_writes_them(banded, tmp_path,
                                                                                          monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    stream = stream_of(40.0, 2000, channels=("HHZ", "HHN"))
    result = api_model.restoration(stream, method="banded")
    assert result.band == Band(BANDED_BAND_DESCRIPTION, calibrated=True) and result.band.label == "90 % band"
    for before, trace in zip(stream, result.traces):
        assert trace.band == result.band and trace.lower.size == trace.upper.size == before.stats.npts
        assert np.all(trace.lower <= trace.restored) and np.all(trace.restored <= trace.upper)
        table = trace.amplitudes
        assert table.runs == len(trace.clipped_runs) > 0 and table.band == result.band
        row = table.rows[0]
        assert (row.start_sample, row.stop_sample) == trace.clipped_runs[0]
        assert table.time_of(row.start_sample) == (before.stats.starttime + row.start_sample / 40.0).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
        assert row.restored_peak_counts == trace.restored[row.peak_sample]
    lower, upper = result.bounds()
    for before, low, high, trace in zip(stream, lower, upper, result.traces):
        assert low.id == high.id == before.id and low.stats.starttime == before.stats.starttime
        np.testing.assert_array_equal(low.data, trace.lower)
        np.testing.assert_array_equal(high.data, trace.upper)
        assert low.stats.processing[-1].endswith(": lower bound of the 90 % band")
        assert high.stats.processing[-1].endswith(": upper bound of the 90 % band")
    # The table the command writes beside a file's outputs is the result's.
    stream.write("record.mseed", format="MSEED")
    status, _, err = run_in_process(capsys, main, ["restore", "record.mseed", "--method", "banded"])
    assert status == 0, err
    assert Path("record.restored.mseed.amplitudes.csv").read_text() == result.amplitudes_csv()

    # A method without a band: None for the band and its bounds, every run flagged.
    plain = api_model.restoration(stream, method="spline")
    assert plain.band is None and all(trace.lower is None and trace.band is None for trace in plain.traces)
    assert all(trace.amplitudes.flagged == trace.amplitudes.runs > 0 for trace in plain.traces)
    assert refused(plain.bounds) == "method 'spline' gives no band: its traces' lower and upper are None"
    array = api_model.restoration(stream[0].data.astype(np.float64), method="banded", sampling_rate=40.0)
    assert array.traces[0].amplitudes.time_of(0) == "" and array.band == result.band
    assert refused(array.bounds) == "an array was restored: take its bounds with .traces[0].lower and .upper"


def test_the_pages_example_runs_as_written(tmp_path):
    (code,) = re.findall(r"^```python\n(.*?)^```", (REPO_ROOT / "docs" / "api.md").read_text(), flags=re.S | re.M)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    first, second, third = done.stdout.splitlines()
    assert re.fullmatch(r"XX\.DEMO\.\.HHZ: \d+ clipped samples in \d+ runs, restored at 40 Hz, given back at 100 Hz",
                        first), first
    assert second.startswith(f"seisclip {seisclip.__version__}: restore(method='hybrid', model='reference-v1', ")
    assert re.fullmatch(r"peak -?\d+ counts at 1970-01-01T\d\d:\d\d:\d\d\.\d{6}Z, interval (-?\d+|nan) to (-?\d+|nan), "
                        r"(flagged: .+|vouched for); band: .+; \d+ of \d+ runs flagged", third), third
    assert (tmp_path / "restored.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert obspy.read(str(tmp_path / "clipped.mseed"))[0].stats.sampling_rate == 100.0


# --- bad input: docs/robustness.md, "What happens when…" -------------------------------------------

def refused(call, *args, **kwargs) -> str:
    with pytest.raises(SeisclipError) as error:
        call(*args, **kwargs)
    assert "\n" not in str(error.value)
    return str(error.value)


@pytest.mark.bad_input("api-trace-with-gaps")
def test_a_trace_with_gaps_is_refused_and_separate_traces_of_one_id_are_restored_each_on_its_own():
    stream = stream_of(40.0, 2000, channels=("HHZ",))
    later = stream[0].copy()
    later.stats.starttime += 2000 / 40.0 + 10   # ten seconds after the first ends
    stream += later
    merged = stream.copy().merge()
    assert refused(seisclip.restore, merged, method="pocs") == (
        "trace 1 (XX.API.00.HHZ) has gaps (masked samples): restore its contiguous parts as separate traces")
    result = api_model.restoration(merged.split(), method="pocs")
    assert [trace.id for trace in result.traces] == ["XX.API.00.HHZ"] * 2
    for before, after in zip(stream, result.stream()):
        assert_restored(before, after)


@pytest.mark.bad_input("api-integer-trace")
def test_a_trace_of_integer_counts_is_restored_and_given_back_as_float64():
    trace = stream_of(40.0, 2000, channels=("HHZ",))[0]
    assert trace.data.dtype == np.int32
    restored = seisclip.restore(trace, method="pocs")
    assert_restored(trace, restored)
    assert trace.data.dtype == np.int32   # the caller's trace is left as it was


@pytest.mark.bad_input("api-empty-trace")
def test_an_empty_trace_is_refused_naming_it():
    empty = obspy.Trace(np.zeros(0, dtype=np.int32), header={"network": "XX", "station": "API", "channel": "HHZ"})
    assert refused(seisclip.restore, obspy.Stream([empty]), method="pocs") == "trace 1 (XX.API..HHZ) has no samples"


@pytest.mark.bad_input("api-array-without-rate")
def test_an_array_without_its_rate_is_refused():
    assert refused(seisclip.restore, clipped_wave(500, 40.0, 1), method="pocs") == (
        "a NumPy array needs sampling_rate= (Hz): its samples carry no rate")
    assert refused(seisclip.restore, clipped_wave(500, 40.0, 1), method="pocs", sampling_rate=-40) == (
        "sampling_rate must be a positive number of Hz, got -40")


@pytest.mark.bad_input("api-bad-arguments")
def test_data_of_another_kind_and_arguments_that_do_not_fit_it_are_refused():
    values = clipped_wave(500, 40.0, 1)
    assert refused(seisclip.restore, list(values), method="pocs") == (
        "data must be an ObsPy Stream or Trace, or a 1-D NumPy array; got list")
    assert refused(seisclip.restore, np.stack([values, values]), method="pocs", sampling_rate=40.0) == (
        "array must be 1-D (one trace's samples), got shape (2, 500)")
    stream = stream_of(40.0, 500, channels=("HHZ",))
    assert refused(seisclip.restore, stream, method="pocs", sampling_rate=40.0) == (
        "sampling_rate= is for a NumPy array: a trace carries its own (stats.sampling_rate)")
    assert refused(seisclip.restore, obspy.Stream(), method="pocs") == "the stream holds no trace"
    assert refused(seisclip.restore, stream, method="pocs", output_rate="native") == (
        "output rate must be one of ('record', 'model'), got 'native'")
    assert refused(seisclip.restore, stream, method="spade") == (
        "method must be one of ('hybrid', 'model', 'spline', 'pocs', 'aspade', 'cwr'), got 'spade'")


@pytest.mark.bad_input("api-bad-mask")
def test_a_mask_that_does_not_fit_the_data_is_refused_naming_the_trace():
    stream = stream_of(40.0, 500, channels=("HHZ", "HHN"))
    clipped = [np.abs(trace.data) >= CLIP_COUNTS for trace in stream]
    assert refused(seisclip.restore, stream, method="pocs", mask=clipped[0]) == (
        "mask for a stream must be a list of 2 boolean arrays, one per trace")
    assert refused(seisclip.restore, stream, method="pocs", mask=[clipped[0], clipped[1][:-1]]) == (
        "XX.API.00.HHN: mask must be a boolean array of one value per sample, shape (500,); got bool of shape (499,)")
    assert refused(seisclip.restore, stream[0], method="pocs", mask=clipped[0].astype(int)) == (
        "XX.API.00.HHZ: mask must be a boolean array of one value per sample, shape (500,); got int64 of shape (500,)")
    zero = np.flatnonzero(stream[0].data == 0)
    assert zero.size, "the wave has a sample at 0"
    marked = clipped[0].copy()
    marked[zero[0]] = True
    assert refused(seisclip.restore, stream[0], method="pocs", mask=marked) == (
        "XX.API.00.HHZ: mask marks a sample of value 0 as clipped: clipped samples lie above or below zero")
    assert refused(seisclip.restore, stream, method="pocs", mask=clipped, clip_counts=CLIP_COUNTS) == (
        "give mask or clip_counts, not both: each says which samples are clipped")


@pytest.mark.bad_input("api-rate-not-served")
def test_a_rate_the_model_does_not_serve_is_refused_and_a_classic_method_takes_it(model):
    slow = stream_of(1.0, 2000, channels=("LHZ",))
    assert refused(model.restore, slow) == (
        "trace XX.API.00.LHZ is sampled at 1 Hz; a model trained at 40 Hz restores records sampled at 40 to 200 Hz: "
        "--method spline|pocs|aspade|cwr need no model and take any rate")
    assert "600 Hz" in refused(model.restore, clipped_wave(5000, 600.0, 2), sampling_rate=600.0)
    assert_restored(slow[0], model.restore(slow, method="pocs")[0])

"""Clipped seismic records read with ObsPy and restored ones written back in their own format:
headers kept, unclipped samples bit-identical, the status in a sidecar, the rate checked."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import obspy
import pytest
from obspy.io.sac import SACTrace

from seisclip.errors import SeisclipError
from seisclip.learn.adopted import AdoptedModel
from seisclip.learn.manifest import ModelManifest
from seisclip.learn.model_dir import ModelDirectory
from seisclip.bank.clipping import detect_clipping
from seisclip.restore.seismic import MSEED, SAC, encode_restored, is_seismic_file, read_seismic, resampled

RATE = 40.0
START = obspy.UTCDateTime(2021, 3, 4, 5, 6, 7, 890000)
LEVEL = 3000
MSEED_CODES = [{"network": "XX", "station": "BRV", "location": "00", "channel": "BHZ"},
               {"network": "XX", "station": "BRV", "location": "", "channel": "BHE"}]
SAC_CODES = {"network": "KZ", "station": "BRVK", "location": "10", "channel": "SHZ"}
NOTE = "restored by seisclip 0.1.0, model set00002_1024_20000_def004 (sha256 0123abcd), method hybrid"


def clipped_sine(n: int, amplitude: float, phase: float = 0.0) -> np.ndarray:
    """A sine with a slow envelope, clipped at ±LEVEL: flat runs at its peaks, whole counts."""
    t = np.arange(n)
    wave = amplitude * np.sin(2 * np.pi * t / 37 + phase) * np.hanning(n)
    return np.clip(np.round(wave), -LEVEL, LEVEL)


@pytest.fixture
def mseed_file(tmp_path):
    path = tmp_path / "record.mseed"
    traces = [obspy.Trace(clipped_sine(600, 2 * LEVEL, phase).astype(np.int32),
                          header={**codes, "sampling_rate": RATE, "starttime": START})
              for codes, phase in zip(MSEED_CODES, (0.0, 1.0))]
    obspy.Stream(traces).write(str(path), format="MSEED", encoding="STEIM2", reclen=512)
    return path


@pytest.fixture
def sac_file(tmp_path):
    path = tmp_path / "record.sac"
    values = clipped_sine(500, 1.7 * LEVEL).astype(np.float32) + np.float32(0.25)   # not whole counts
    obspy.Trace(values, header={**SAC_CODES, "sampling_rate": RATE, "starttime": START}).write(str(path), format="SAC")
    return path


def restoration_of(values: np.ndarray, status: np.ndarray) -> np.ndarray:
    """A stand-in restoration: clipped samples pushed 10% beyond the clip level, others unchanged."""
    return np.where(status != 0, values * 1.1 + 0.123, values)


def written(tmp_path, file_format, traces):
    """The restored file and the sidecar written from ``traces``, read back with ObsPy."""
    status = [detect_clipping(trace.values).status for trace in traces]
    restored = [restoration_of(trace.values, states) for trace, states in zip(traces, status)]
    restored_bytes, status_bytes = encode_restored(file_format, traces, restored, status, NOTE)
    (tmp_path / "out.restored").write_bytes(restored_bytes)
    (tmp_path / "out.status").write_bytes(status_bytes)
    return (obspy.read(str(tmp_path / "out.restored"), format=file_format), restored,
            obspy.read(str(tmp_path / "out.status"), format=file_format), status)


def same_header(written_trace, trace) -> None:
    for key in ("network", "station", "location", "channel", "starttime", "sampling_rate", "npts"):
        assert written_trace.stats[key] == trace.stats[key], key


def test_binary_files_are_seismic_and_text_is_ascii(tmp_path, mseed_file, sac_file):
    text = tmp_path / "record.txt"
    text.write_text("1\n2\n3\n")
    assert is_seismic_file(mseed_file) and is_seismic_file(sac_file) and not is_seismic_file(text)
    with pytest.raises(SeisclipError, match="record file not found"):
        is_seismic_file(tmp_path / "missing")


def test_miniseed_traces_are_read_in_file_order_with_their_headers(mseed_file):
    file_format, traces = read_seismic(mseed_file)
    assert file_format == MSEED
    assert [trace.seed_id for trace in traces] == ["XX.BRV.00.BHZ", "XX.BRV..BHE"]
    assert [trace.trace_index for trace in traces] == [0, 1]
    original = obspy.read(str(mseed_file))
    for trace, recorded in zip(traces, original):
        assert trace.values.dtype == np.float64 and np.array_equal(trace.values, recorded.data)
        assert trace.sampling_rate == RATE and trace.starttime == START.isoformat()
        assert trace.stats is not recorded.stats and trace.stats.station == "BRV"
        assert detect_clipping(trace.values).clipped


def test_restored_miniseed_keeps_headers_and_unclipped_samples_bit_identical(tmp_path, mseed_file):
    _, traces = read_seismic(mseed_file)
    restored_stream, restored, status_stream, status = written(tmp_path, MSEED, traces)
    assert len(restored_stream) == len(status_stream) == 2
    for trace, out, expected, sidecar, states in zip(traces, restored_stream, restored, status_stream, status):
        same_header(out, trace)
        same_header(sidecar, trace)
        assert out.data.dtype == np.float64 and sidecar.data.dtype == np.int32
        unclipped = states == 0
        assert np.array_equal(out.data[unclipped].view(np.int64), trace.values[unclipped].view(np.int64))
        assert np.array_equal(out.data[~unclipped], expected[~unclipped]) and (~unclipped).any()
        assert np.array_equal(sidecar.data, states) and set(np.unique(states)) == {-1, 0, 1}


def test_restored_sac_keeps_its_header_and_carries_the_note(tmp_path, sac_file):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the miniSEED reader tried first must not warn of a SAC file
        file_format, traces = read_seismic(sac_file)
    assert file_format == SAC and len(traces) == 1 and traces[0].seed_id == "KZ.BRVK.10.SHZ"
    restored_stream, restored, status_stream, status = written(tmp_path, SAC, traces)
    (trace,), (out,), (sidecar,) = traces, restored_stream, status_stream
    same_header(out, trace)
    same_header(sidecar, trace)
    assert out.data.dtype == np.float32
    unclipped = status[0] == 0
    recorded = obspy.read(str(sac_file))[0].data
    assert np.array_equal(out.data[unclipped].view(np.int32), recorded[unclipped].view(np.int32))
    assert np.array_equal(out.data[~unclipped], restored[0][~unclipped].astype(np.float32))
    assert np.array_equal(sidecar.data, status[0].astype(np.float32))
    assert (out.stats.sac.kuser0, out.stats.sac.kuser1, sidecar.stats.sac.kuser1) == ("seisclip", "restored", "status")
    # The file holds the note's start; obspy.read drops the space at kevnm's 8th character, SACTrace does not.
    assert SACTrace.read(str(tmp_path / "out.restored")).kevnm == NOTE[:16]


def test_a_sac_event_name_is_kept(tmp_path, sac_file):
    stream = obspy.read(str(sac_file))
    stream[0].stats.sac.kevnm = "QUAKE 1983"
    stream.write(str(sac_file), format="SAC")
    (out,), _, _, _ = written(tmp_path, SAC, read_seismic(sac_file)[1])
    assert out.stats.sac.kevnm == "QUAKE 1983" and out.stats.sac.kuser0 == "seisclip"


def test_resampling_keeps_the_first_samples_time_and_filters_like_bank_import(mseed_file):
    _, traces = read_seismic(mseed_file)
    twenty = resampled(traces[0].values, RATE, 20.0, f"trace {traces[0].seed_id}")
    assert twenty.size == 300 and traces[0].values.size == 600   # the original is left as it was
    # A wave far below both Nyquist frequencies keeps its samples at their times.
    slow = np.sin(2 * np.pi * 0.5 * np.arange(4000) / RATE)
    np.testing.assert_allclose(resampled(slow, RATE, 20.0, "wave")[100:-100], slow[::2][100:-100], atol=1e-3)
    moved = traces[0].with_samples(twenty, 20.0)
    assert (moved.sampling_rate, moved.stats.npts, moved.stats.starttime) == (20.0, 300, START)
    with pytest.raises(SeisclipError, match=r"^trace XX.BRV.00.BHZ: no rational resampling ratio"):
        resampled(traces[0].values, RATE, RATE * np.pi, f"trace {traces[0].seed_id}")


def test_an_unreadable_file_is_one_line_naming_it(tmp_path):
    garbage = tmp_path / "garbage[1].bin"
    garbage.write_bytes(b"\0" + np.random.default_rng(3).bytes(5000))
    assert is_seismic_file(garbage)
    with pytest.raises(SeisclipError) as refused:
        read_seismic(garbage)
    message = str(refused.value)
    assert message.startswith(f"{garbage}: not a waveform file ObsPy reads") and "\n" not in message


def test_a_trace_with_no_samples_is_named(tmp_path):
    # miniSEED cannot hold an empty trace (ObsPy skips it); SAC can.
    path = tmp_path / "empty.sac"
    obspy.Trace(np.zeros(0, dtype=np.float32), header={**SAC_CODES, "sampling_rate": RATE}).write(str(path), format="SAC")
    with pytest.raises(SeisclipError) as refused:
        read_seismic(path)
    assert str(refused.value) == f"{path}: trace 1 (KZ.BRVK.10.SHZ) has no samples"


def test_the_module_loads_neither_obspy_nor_tensorflow_until_used():
    code = ("import sys, seisclip.restore.seismic; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'obspy', 'tensorflow', 'keras'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_models_rate_is_its_manifests_else_its_banks_else_40_hz():
    def rate(parameters: dict, bank: dict | None = None) -> float:
        return ModelDirectory(Path("model"), ModelManifest.untrained("model", parameters, bank)).sampling_rate

    assert rate({"sampling_rate": 100.0}, {"kind": "hdf5", "sampling_rate_hz": 50.0}) == 100.0
    assert rate({}, {"kind": "hdf5", "sampling_rate_hz": 50.0}) == 50.0   # older manifests
    assert rate({}, {"kind": "ascii"}) == rate({}) == 40.0
    assert AdoptedModel(Path("model.h5"), "h5", None).sampling_rate == 40.0

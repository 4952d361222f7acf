"""Every output of a restoration carries its band, ``nan`` or no file where the method gives none:
the ASCII columns ``index value status restored lower upper``, the band's miniSEED and SAC files
beside the restored one, read back with ObsPy, the amplitude table beside every output, and the
figure, which draws a band by its label and the old window spread not at all."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import obspy

from conftest import BANDED_BAND_DESCRIPTION, Banded, run_in_process
from seisclip.cli import main
from seisclip.restore.methods import WINDOW_SPREAD, Band, Restoration
from seisclip.restore.output import format_restored, plot_restoration
from seisclip.restore.records import ClippedRecord, read_clipped_record

CLIP_COUNTS = 1500
BAND_LABEL = "90 % band"


def wave(samples: int, seed: int) -> np.ndarray:
    """A wave packet in whole counts peaking near 3000, clipped at ±CLIP_COUNTS."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples)
    truth = 3000 * np.exp(-((t - samples / 2) / (samples / 6)) ** 2) * np.sin(t / rng.uniform(3, 9))
    return np.clip(np.round(truth + rng.normal(0, 30, samples)), -CLIP_COUNTS, CLIP_COUNTS)


def restore(capsys, *argv: str) -> tuple[int, list[str]]:
    status, _, err = run_in_process(capsys, main, ["restore", *argv])
    return status, err


def test_the_ascii_header_names_the_columns_and_a_method_without_a_band_writes_nan(banded, tmp_path, monkeypatch,
                                                                                    capsys):
    monkeypatch.chdir(tmp_path)
    Path("r.txt").write_text("".join(f"{int(v)}\n" for v in wave(400, 5)))
    record = read_clipped_record("r.txt")
    for method in ("spline", "banded"):
        status, err = restore(capsys, "r.txt", "--method", method, "--out", f"{method}.txt")
        assert status == 0, err
        assert err[-1].endswith(f"-> {method}.txt, {method}.txt.amplitudes.csv, {method}.png")
        header = Path(f"{method}.txt").read_text().splitlines()[0]
        assert header.startswith("# index value status restored lower upper  (method ")
        table = np.loadtxt(f"{method}.txt", comments="#")
        assert table.shape == (400, 6)
        np.testing.assert_array_equal(table[:, 1], record.values)
        np.testing.assert_array_equal(table[:, 2], record.status)
        lower, upper = table[:, 4], table[:, 5]
        if method == "spline":
            assert "lower/upper: nan, the method gives no band" in header
            assert np.isnan(lower).all() and np.isnan(upper).all()
            continue
        assert f"lower/upper: {BAND_LABEL}, {BANDED_BAND_DESCRIPTION}" in header
        expected = Banded().restore(record)
        np.testing.assert_allclose(lower, expected.lower, rtol=1e-9)
        np.testing.assert_allclose(upper, expected.upper, rtol=1e-9)
        np.testing.assert_array_equal(lower[record.status == 0], record.values[record.status == 0])
        assert np.all(lower[record.status > 0] >= record.clip_high) and np.all(upper[record.status < 0] <= record.clip_low)
        assert np.all(lower <= table[:, 3]) and np.all(table[:, 3] <= upper) and np.any(lower < upper)
        rows = list(csv.DictReader(open(f"{method}.txt.amplitudes.csv")))
        assert len(rows) == len(expected_runs(record)) and {row["trace"] for row in rows} == {""}
        # An ASCII record carries no rate nor start: its runs are numbered by sample, untimed.
        assert {row["start_time"] for row in rows} == {""}
        # The toy band is ± a quarter of each sample's excess: the peak's interval half its excess wide, not flagged.
        assert {row["flagged"] for row in rows} == {"0"}


def expected_runs(record: ClippedRecord) -> list[tuple[int, int]]:
    from seisclip.bank.clipping import runs_of

    return runs_of(record.status > 0) + runs_of(record.status < 0)


def test_a_seismic_files_band_goes_in_two_files_of_the_same_traces_read_back_with_obspy(banded, tmp_path,
                                                                                        monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    header = dict(network="XX", station="BRV", location="00", sampling_rate=40.0,
                  starttime=obspy.UTCDateTime(1975, 12, 4, 19, 27))
    traces = [obspy.Trace(wave(2000, seed).astype(np.int32), header={**header, "channel": channel})
              for seed, channel in ((1, "SHZ"), (2, "SHN"))]
    obspy.Stream(traces).write("brv.mseed", format="MSEED")
    sac = traces[0].copy()
    sac.data = sac.data.astype(np.float32)
    sac.write("brv.sac", format="SAC")

    status, err = restore(capsys, "brv.mseed", "--method", "banded")
    assert status == 0, err
    assert err[-1].endswith("-> brv.restored.mseed, brv.restored.status.mseed, brv.restored.lower.mseed, "
                            "brv.restored.upper.mseed, brv.restored.mseed.amplitudes.csv, brv.restored.png")
    restored, state = obspy.read("brv.restored.mseed"), obspy.read("brv.restored.status.mseed")
    lower, upper = obspy.read("brv.restored.lower.mseed"), obspy.read("brv.restored.upper.mseed")
    for original, after, marks, low, high in zip(traces, restored, state, lower, upper):
        for bound in (low, high):
            assert bound.id == original.id and bound.stats.starttime == original.stats.starttime
            assert (bound.stats.sampling_rate, bound.stats.npts) == (40.0, 2000)
            assert bound.data.dtype == np.float64 and bound.stats.mseed.dataquality == "Q"
        kept = marks.data == 0
        assert np.array_equal(low.data[kept], after.data[kept]) and np.array_equal(high.data[kept], after.data[kept])
        assert np.all(low.data <= after.data) and np.all(after.data <= high.data) and np.any(low.data < high.data)
        assert np.all(low.data[marks.data > 0] >= CLIP_COUNTS) and np.all(high.data[marks.data < 0] <= -CLIP_COUNTS)
    rows = list(csv.DictReader(open("brv.restored.mseed.amplitudes.csv")))
    ids = [row["trace"] for row in rows]
    assert ids == sorted(ids, reverse=True) and set(ids) == {"XX.BRV.00.SHZ", "XX.BRV.00.SHN"}   # trace by trace
    first = rows[0]
    assert first["start_time"] == (traces[0].stats.starttime + int(first["start_sample"]) / 40.0).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    peak = int(first["peak_sample"])
    assert float(first["restored_peak_counts"]) == restored[0].data[peak]

    status, err = restore(capsys, "brv.sac", "--method", "banded", "--plot", "sac.png")
    assert status == 0, err
    (low,), (high,) = obspy.read("brv.restored.lower.sac"), obspy.read("brv.restored.upper.sac")
    assert (low.stats.sac.kuser0, low.stats.sac.kuser1, high.stats.sac.kuser1) == ("seisclip", "lower", "upper")
    assert low.data.dtype == np.float32 and np.all(low.data <= high.data)

    # A method without a band writes no band files; --overwrite removes those an earlier restoration left.
    status, err = restore(capsys, "brv.mseed", "--method", "spline", "--overwrite")
    assert status == 0, err
    assert not Path("brv.restored.lower.mseed").exists() and not Path("brv.restored.upper.mseed").exists()
    rows = list(csv.DictReader(open("brv.restored.mseed.amplitudes.csv")))
    assert rows and {(row["flagged"], row["flag_reason"]) for row in rows} == {("1", "no band")}


def test_the_figure_draws_a_band_by_its_label_and_the_window_spread_not_at_all():
    t = np.arange(300)
    truth = 1000 * np.sin(t / 9.0)
    status = (truth >= 600).astype(np.int8) - (truth <= -600).astype(np.int8)
    record = ClippedRecord("r", np.clip(truth, -600, 600), status, 600.0, -600.0)
    spread = {WINDOW_SPREAD: np.where(status != 0, 50.0, 0.0)}

    def legend(restoration: Restoration) -> list[str]:
        figure = plot_restoration(record, restoration, "title")
        return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]

    assert legend(Restoration(truth, "model", diagnostics=spread)) == ["restored (model)", "clipped input"]
    for measured, label in ((False, "nominal 90 % band (not calibrated)"), (True, BAND_LABEL)):
        band = Band("a test band", calibrated=measured)
        with_band = Restoration(truth, "test", lower=truth - 10, upper=truth + 10, band=band, diagnostics=spread)
        assert legend(with_band) == ["restored (test)", label, "clipped input"]
        assert format_restored(record, with_band).decode().splitlines()[0] == (
            f"# index value status restored lower upper  (method test; lower/upper: {label}, a test band; source r)")

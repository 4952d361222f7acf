"""`seisclip restore FILE` for one miniSEED or SAC file: written here in its own format with its
status file and a figure, marked as restored in the file itself; the one rule naming every
restored output, ASCII and seismic, alone and in an --out-dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
import pytest

from seisclip.bank.clipping import detect_clipping
from seisclip.cli import main
from seisclip.restore.naming import restored_name, status_name
from seisclip.restore.seismic import MSEED, SAC

from conftest import error_line, run_in_process

CLIP_COUNTS = 1500
RATE = 40.0
REFUSED = "already exists; refusing to overwrite it (use --overwrite to replace it)"


def wave(samples: int, seed: int) -> np.ndarray:
    """A wave packet in whole counts peaking near 3000, clipped at ±CLIP_COUNTS."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples)
    truth = 3000 * np.exp(-((t - samples / 2) / (samples / 6)) ** 2) * np.sin(t / rng.uniform(3, 9))
    return np.clip(np.round(truth + rng.normal(0, 30, samples)), -CLIP_COUNTS, CLIP_COUNTS)


def write_seismic(folder: Path, rate: float = RATE) -> tuple[Path, Path]:
    """``folder/brv.mseed`` (two int32 traces, STEIM2 in 512-byte records, as a recorder writes them)
    and ``folder/brv.sac`` (one float32 trace)."""
    folder.mkdir(parents=True, exist_ok=True)
    header = dict(network="XX", station="BRV", location="00", sampling_rate=rate,
                  starttime=obspy.UTCDateTime(1975, 12, 4, 19, 27))
    traces = [obspy.Trace(wave(3000, seed).astype(np.int32), header={**header, "channel": channel})
              for seed, channel in ((1, "SHZ"), (2, "SHN"))]
    obspy.Stream(traces).write(str(folder / "brv.mseed"), format="MSEED", encoding="STEIM2", reclen=512)
    sac = traces[0].copy()
    sac.data = sac.data.astype(np.float32) + np.float32(0.25)   # not whole counts
    sac.write(str(folder / "brv.sac"), format="SAC")
    return folder / "brv.mseed", folder / "brv.sac"


def restore(capsys, *argv: str) -> tuple[int, list[str]]:
    status, _, err = run_in_process(capsys, main, ["restore", *argv])
    return status, err


@pytest.mark.parametrize("record, file_format, naming, expected", [
    ("record.txt", "ascii", 2, "record.restored.txt"),
    ("record.TXT", "ascii", 2, "record.restored.TXT"),
    ("19751204.1927.BRV.SKM.s09Z0.024.txtseg00043209", "ascii", 2,
     "19751204.1927.BRV.SKM.s09Z0.024.txtseg00043209.restored.txt"),
    ("r.mseed", MSEED, 2, "r.restored.mseed"),
    ("r.miniseed", MSEED, 2, "r.restored.miniseed"),
    ("r.ms", MSEED, 2, "r.restored.ms"),
    ("r.msd", MSEED, 2, "r.restored.msd"),
    ("r.sac", SAC, 2, "r.restored.sac"),
    ("r.SAC", SAC, 2, "r.restored.SAC"),
    ("XX.BRV.00.BHZ", MSEED, 2, "XX.BRV.00.BHZ.restored.mseed"),
    ("r.gse2", MSEED, 2, "r.gse2.restored.mseed"),   # written as miniSEED: a suffix of another format stays
    ("r.txt", MSEED, 2, "r.txt.restored.mseed"),
    ("r.mseed", "ascii", 2, "r.mseed.restored.txt"),
    # Naming 1, of folders an earlier seisclip restored into: an ASCII record's whole name kept.
    ("record.txt", "ascii", 1, "record.txt.restored.txt"),
    ("r.msd", MSEED, 1, "r.msd.restored.mseed"),
    ("r.mseed", MSEED, 1, "r.restored.mseed"),
])
def test_an_output_name_drops_only_a_known_suffix_of_its_format(record, file_format, naming, expected):
    assert restored_name(record, file_format, naming) == expected


def test_a_status_file_is_named_after_its_restored_file():
    assert str(status_name("r.restored.mseed")) == "r.restored.status.mseed"
    assert str(status_name("out/x.restored.SAC")) == "out/x.restored.status.SAC"
    assert str(status_name("plain")) == "plain.status"


def test_ascii_records_follow_the_same_rule(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    borovoye = "19751204.1927.BRV.SKM.s09Z0.024.txtseg00043209"
    for name in ("archive/record.txt", f"archive/{borovoye}"):
        Path(name).parent.mkdir(exist_ok=True)
        Path(name).write_text("".join(f"{int(v)}\n" for v in wave(400, 5)))
        status, err = restore(capsys, name, "--method", "spline")
        assert status == 0, err
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [
        f"{borovoye}.restored.png", f"{borovoye}.restored.txt", f"{borovoye}.restored.txt.amplitudes.csv",
        "record.restored.png", "record.restored.txt", "record.restored.txt.amplitudes.csv"]


def test_a_miniseed_file_is_restored_here_in_miniseed_marked_restored_with_its_status_and_figure(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mseed, _ = write_seismic(Path("archive"))
    status, err = restore(capsys, str(mseed), "--method", "spline")
    assert status == 0, err
    original = obspy.read(str(mseed))
    clipped = [detect_clipping(trace.data.astype(np.float64), "restore").status != 0 for trace in original]
    runs = sum(int(np.count_nonzero(np.diff(np.concatenate([[0], c.astype(np.int8), [0]])) == 1)) for c in clipped)
    assert len(err) == 1 and err[0].startswith(
        f"restored {sum(int(c.sum()) for c in clipped)} clipped samples in {runs} runs of 6000 in 2 traces with "
        "spline: 0 windows, ")
    assert err[0].endswith(" s -> brv.restored.mseed, brv.restored.status.mseed, brv.restored.mseed.amplitudes.csv, "
                           "brv.restored.png")
    # Spline gives no band: no band files.
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [
        "brv.restored.mseed", "brv.restored.mseed.amplitudes.csv", "brv.restored.png", "brv.restored.status.mseed"]
    assert Path("brv.restored.png").read_bytes()[:4] == b"\x89PNG"

    restored, state = obspy.read("brv.restored.mseed"), obspy.read("brv.restored.status.mseed")
    assert [trace.id for trace in restored] == [trace.id for trace in state] == ["XX.BRV.00.SHZ", "XX.BRV.00.SHN"]
    for before, after, marks, mask in zip(original, restored, state, clipped):
        assert after.stats.mseed.dataquality == marks.stats.mseed.dataquality == "Q"
        assert before.stats.mseed.dataquality == "D"
        assert after.stats.starttime == before.stats.starttime and after.stats.sampling_rate == RATE
        assert after.data.dtype == np.float64 and mask.any()
        # Unclipped samples bit for bit: float64 holds int32 counts exactly.
        assert np.array_equal(after.data[~mask].view(np.int64), before.data[~mask].astype(np.float64).view(np.int64))
        assert np.all(np.abs(after.data[mask]) >= CLIP_COUNTS) and np.abs(after.data).max() > CLIP_COUNTS
        np.testing.assert_array_equal(marks.data, np.sign(before.data) * mask)
    # Every record of both files carries the mark: byte 6 of each fixed header is the quality indicator.
    for name in ("brv.restored.mseed", "brv.restored.status.mseed"):
        data = Path(name).read_bytes()
        length = obspy.read(name)[0].stats.mseed.record_length
        assert len(data) % length == 0 and len(data) // length >= 2
        assert {data[start + 6:start + 7] for start in range(0, len(data), length)} == {b"Q"}


def test_a_sac_file_is_restored_as_sac_marked_by_its_header_and_unclipped_samples_bit_identical(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _, sac = write_seismic(Path("archive"))
    status, err = restore(capsys, str(sac), "--method", "pocs", "--out", "elsewhere.sac")
    assert status == 0, err
    assert err[0].endswith(" s -> elsewhere.sac, elsewhere.status.sac, elsewhere.sac.amplitudes.csv, elsewhere.png")
    (before,), (after,), (marks,) = obspy.read(str(sac)), obspy.read("elsewhere.sac"), obspy.read("elsewhere.status.sac")
    mask = marks.data != 0
    assert mask.any() and after.data.dtype == np.float32
    assert np.array_equal(after.data[~mask].view(np.int32), before.data[~mask].view(np.int32))
    assert (after.stats.sac.kuser0, after.stats.sac.kuser1) == ("seisclip", "restored")
    assert (marks.stats.sac.kuser0, marks.stats.sac.kuser1) == ("seisclip", "status")


def test_one_file_alone_and_in_an_archive_gives_the_same_bytes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mseed, sac = write_seismic(Path("archive"))
    assert restore(capsys, str(mseed), "--method", "spline")[0] == 0
    # Both plots would be brv.restored.png (the output's name with .png for its suffix, as an ASCII record's).
    assert error_line(capsys, main, ["restore", str(sac), "--method", "spline"]) == (
        f"seisclip restore: error: brv.restored.png: plot {REFUSED}")
    assert restore(capsys, str(sac), "--method", "spline", "--plot", "sac.png")[0] == 0
    assert restore(capsys, str(mseed), str(sac), "--method", "spline", "--out-dir", "out", "--quiet")[0] == 0
    for name in ("brv.restored.mseed", "brv.restored.status.mseed", "brv.restored.mseed.amplitudes.csv",
                 "brv.restored.sac", "brv.restored.status.sac", "brv.restored.sac.amplitudes.csv"):
        assert Path(name).read_bytes() == (Path("out") / name).read_bytes(), name


def test_out_and_plot_name_the_outputs_the_status_file_beside_the_restored_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mseed, _ = write_seismic(Path("archive"))
    Path("results").mkdir()
    status, err = restore(capsys, str(mseed), "--method", "spline", "--out", "results/x.mseed", "--plot", "p.png")
    assert status == 0, err
    assert err[0].endswith(" s -> results/x.mseed, results/x.status.mseed, results/x.mseed.amplitudes.csv, p.png")
    assert sorted(path.name for path in Path("results").iterdir()) == ["x.mseed", "x.mseed.amplitudes.csv",
                                                                       "x.status.mseed"]
    assert Path("p.png").is_file() and len(obspy.read("results/x.mseed")) == 2


@pytest.mark.bad_input("output-restored-record")
@pytest.mark.parametrize("existing, what", [("brv.restored.mseed", "restored record"),
                                            ("brv.restored.status.mseed", "status file"),
                                            ("brv.restored.lower.mseed", "lower bound file"),
                                            ("brv.restored.mseed.amplitudes.csv", "amplitude table"),
                                            ("brv.restored.png", "plot")])
def test_an_existing_output_of_a_seismic_file_is_kept_unless_overwrite(tmp_path, monkeypatch, capsys, existing, what):
    monkeypatch.chdir(tmp_path)
    mseed, _ = write_seismic(Path("archive"))
    Path(existing).write_bytes(b"precious\n")
    assert error_line(capsys, main, ["restore", str(mseed), "--method", "spline"]) == (
        f"seisclip restore: error: {existing}: {what} {REFUSED}")
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [existing]
    assert Path(existing).read_bytes() == b"precious\n"
    assert main(["restore", str(mseed), "--method", "spline", "--overwrite"]) == 0
    # Spline gives no band: with --overwrite, a band file an earlier restoration left is not this one's.
    assert sorted(path.name for path in tmp_path.glob("brv.restored*")) == [
        "brv.restored.mseed", "brv.restored.mseed.amplitudes.csv", "brv.restored.png", "brv.restored.status.mseed"]
    assert "lower" in existing or Path(existing).read_bytes() != b"precious\n"


@pytest.mark.bad_input("restore-output-other-format")
def test_an_output_named_with_another_formats_suffix_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mseed, sac = write_seismic(Path("archive"))
    Path("r.txt").write_text("".join(f"{int(v)}\n" for v in wave(400, 5)))
    assert error_line(capsys, main, ["restore", str(mseed), "--method", "spline", "--out", "x.txt"]) == (
        "seisclip restore: error: x.txt: .txt is the suffix of ASCII files, but this restoration is written as "
        "miniSEED: end the name with .mseed")
    assert error_line(capsys, main, ["restore", str(sac), "--method", "spline", "--out", "x.MSEED"]) == (
        "seisclip restore: error: x.MSEED: .MSEED is the suffix of miniSEED files, but this restoration is written "
        "as SAC: end the name with .sac")
    assert error_line(capsys, main, ["restore", "r.txt", "--method", "spline", "--out", "x.sac"]) == (
        "seisclip restore: error: x.sac: .sac is the suffix of SAC files, but this restoration is written as "
        "ASCII: end the name with .txt")
    assert not list(tmp_path.glob("x*"))


@pytest.mark.bad_input("archive-rate-mismatch")
def test_a_file_alone_is_written_at_its_own_rate_or_the_models_and_a_rate_not_served_is_refused(
        tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mseed, _ = write_seismic(Path("archive"), rate=100.0)
    status, err = restore(capsys, str(mseed), "--model", str(tiny_model))
    assert status == 0, err
    written, recorded = obspy.read("brv.restored.mseed"), obspy.read(str(mseed))
    assert [(trace.stats.sampling_rate, trace.stats.npts) for trace in written] == [(100.0, 3000)] * 2
    status_file = obspy.read("brv.restored.status.mseed")
    for trace, original, states in zip(written, recorded, status_file):
        kept = states.data == 0
        np.testing.assert_array_equal(trace.data[kept], original.data[kept].astype(np.float64))
    status, err = restore(capsys, str(mseed), "--model", str(tiny_model), "--resample", "--out", "at40.mseed")
    assert status == 0, err
    assert [(trace.stats.sampling_rate, trace.stats.npts) for trace in obspy.read("at40.mseed")] == [(40.0, 1200)] * 2
    slow, _ = write_seismic(Path("slow"), rate=20.0)
    assert error_line(capsys, main, ["restore", str(slow), "--model", str(tiny_model), "--out", "slow.mseed"]) == (
        "seisclip restore: error: slow/brv.mseed: trace XX.BRV.00.SHZ is sampled at 20 Hz; a model trained at 40 Hz "
        "restores records sampled at 40 to 200 Hz: --method spline|pocs|aspade|cwr need no model and take any rate")
    assert not list(tmp_path.glob("slow*.mseed"))

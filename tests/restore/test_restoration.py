"""Restoring clipped records: reading, detection, baselines, the model path, evaluating it, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from seisclip.bank.clipping import detect_clipping, runs_of
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.errors import SeisclipError
from seisclip.restore.aspade import declip_windows, restore_aspade
from seisclip.restore.baselines import restore_pocs, restore_spline
from seisclip.restore.records import ClippedRecord, read_clipped_record, window_starts
from seisclip.sets.channels import spline_across_runs

from conftest import REPO_ROOT, format_wc_line

LENGTH = 32
ENV = {**os.environ, "PYTHON": sys.executable}


def seisclip(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seisclip.cli", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=300)


def clipped_signal(seed: int = 1, n: int = 600, fraction: float = 0.4) -> tuple[np.ndarray, ClippedRecord]:
    """A synthetic seismogram (its loud part) and the record of it clipped at ``fraction`` of its peak."""
    truth = synthetic_seismogram(np.random.default_rng(seed), 6000).astype(np.float64)
    start = int(np.clip(np.argmax(np.abs(truth)) - n // 2, 0, truth.size - n))
    truth = truth[start:start + n]
    level = np.round(fraction * np.abs(truth).max())
    status = (truth >= level).astype(np.int8) - (truth <= -level).astype(np.int8)
    return truth, ClippedRecord("synthetic", np.clip(truth, -level, level), status, level, -level)


def write_plain(path: Path, values) -> Path:
    path.write_text("".join(f"{int(v)}\n" for v in values))
    return path


def write_labelled(path: Path, values, status) -> Path:
    path.write_text("index value status\n" + "".join(f"{i} {int(v)} {s}\n" for i, (v, s) in enumerate(zip(values, status))))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """def001 (peak-normalised) and def002 (clip-normalised) trained for one epoch on a small bank
    of synthetic seismograms with segments of 32 samples."""
    root = tmp_path_factory.mktemp("restore")
    (root / "bank").mkdir()
    lines = []
    for number in range(6):
        values = synthetic_seismogram(np.random.default_rng(number), 3000)
        text = "".join(f"{v}\n" for v in values.tolist())
        name = f"trace{number}"
        (root / "bank" / name).write_text(text)
        lines.append(format_wc_line(len(values), len(values), len(text), name))
    (root / "outfiles_contents_reordered.txt").write_text("".join(lines))
    (root / "outfiles").symlink_to("bank")

    def sh(*args):
        done = subprocess.run(["sh", *map(str, args)], cwd=root, env=ENV, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    sh(REPO_ROOT / "run_select_training_samples.sh", LENGTH, 300, "r")
    for definition in ("def001", "def002"):
        sh(REPO_ROOT / "run_create_and_train_model.sh", LENGTH, f"r_{LENGTH}_300", definition, "--epochs", "1", "--quiet")
    return {name: root / "models" / f"r_{LENGTH}_300_{name}" for name in ("def001", "def002")}


def test_detection_finds_the_clipped_runs_exactly():
    _, record = clipped_signal(seed=3)   # a short-period record: many clipped runs
    expected = record.status.copy()
    lone = [start for start, stop in runs_of(record.clipped) if stop - start == 1]
    expected[lone] = 0  # a lone sample at the clip level is indistinguishable from a peak
    assert len(runs_of(expected != 0)) >= 10
    np.testing.assert_array_equal(detect_clipping(record.values).status, expected)


def test_detection_ignores_a_lone_extreme_sample():
    values = np.array([0, 5, 9, 5, 0, -3, -7, -7, -2, 0.0])
    np.testing.assert_array_equal(detect_clipping(values).status, [0, 0, 0, 0, 0, 0, -1, -1, 0, 0])
    np.testing.assert_array_equal(detect_clipping(np.array([0, 8, 9, 9, 0.0]), tolerance_counts=1).status,
                                  [0, 1, 1, 1, 0])


def test_labelled_and_clip_level_inputs_read_the_same(tmp_path):
    _, record = clipped_signal()
    labelled = read_clipped_record(write_labelled(tmp_path / "labelled.txt", record.values, record.status))
    by_level = read_clipped_record(write_plain(tmp_path / "plain.txt", record.values), clip_counts=record.clip_high)
    for read in (labelled, by_level):
        np.testing.assert_array_equal(read.values, record.values)
        np.testing.assert_array_equal(read.status, record.status)
        assert (read.clip_high, read.clip_low) == (record.clip_high, record.clip_low)


@pytest.mark.parametrize("baseline", [restore_spline, restore_pocs, restore_aspade])
def test_baselines_change_only_clipped_samples_and_respect_the_clip_level(baseline):
    truth, record = clipped_signal()
    restored = baseline(record.values, record.status, record.clip_high, record.clip_low)
    unclipped = record.status == 0
    assert np.array_equal(restored[unclipped], record.values[unclipped])
    assert np.all(restored[record.status > 0] >= record.clip_high)
    assert np.all(restored[record.status < 0] <= record.clip_low)
    assert np.sqrt(np.mean((restored - truth) ** 2)) < np.sqrt(np.mean((record.values - truth) ** 2))


def test_spline_recovers_a_smooth_peak():
    t = np.arange(200.0)
    truth = 1000 * np.sin(2 * np.pi * t / 80)
    status = (truth > 800).astype(np.int8) - (truth < -800).astype(np.int8)
    restored = restore_spline(np.clip(truth, -800, 800), status, 800.0, -800.0)
    assert np.max(np.abs(restored - truth)) < 0.02 * 1000


@pytest.mark.parametrize("neighbours", [1, 2, 4, 6])
def test_the_spline_across_runs_is_scipys_cubic_spline_through_each_runs_neighbours(neighbours):
    """All runs solved together give what a CubicSpline fitted to each run's neighbours gives, with
    runs at the ends (left as they are), runs a sample apart and runs with few neighbours."""
    rng = np.random.default_rng(neighbours)
    for _ in range(40):
        n = int(rng.integers(2, 120))
        values = np.cumsum(rng.standard_normal(n)) * 100
        status = ((rng.random(n) < rng.uniform(0.05, 0.8)) * rng.choice([-1, 1], n)).astype(np.int8)
        expected = values.copy()
        unclipped = np.flatnonzero(status == 0)
        for start, stop in runs_of(status != 0):
            left, right = unclipped[unclipped < start][-neighbours:], unclipped[unclipped >= stop][:neighbours]
            if left.size and right.size:
                known = np.concatenate([left, right])
                expected[start:stop] = CubicSpline(known, values[known])(np.arange(start, stop))
        np.testing.assert_allclose(spline_across_runs(values, status, neighbours), expected, rtol=1e-9, atol=1e-7)


def test_pocs_halves_the_error_of_a_band_limited_signal():
    t = np.arange(512.0)
    truth = 900 * np.sin(2 * np.pi * 3 * t / 512) + 400 * np.sin(2 * np.pi * 7 * t / 512 + 1)
    level = 0.7 * np.abs(truth).max()
    status = (truth > level).astype(np.int8) - (truth < -level).astype(np.int8)
    values = np.clip(truth, -level, level)
    clipped = status != 0
    error = np.sqrt(np.mean((restore_pocs(values, status, level, -level) - truth)[clipped] ** 2))
    assert error < 0.5 * np.sqrt(np.mean((values - truth)[clipped] ** 2))


def test_aspade_restores_a_sparse_signal_and_improves_every_generated_record():
    """On a signal of two frequencies A-SPADE cuts the error on the clipped samples fourfold; on
    generated seismograms (seeds apart from the demo bank's) clipped at 70 % and 40 % of their
    peak it is better than the clipped input every time; batched windows give what one window
    at a time gives."""
    t = np.arange(1024.0)
    truth = 900 * np.sin(2 * np.pi * 20 * t / 2048) + 400 * np.sin(2 * np.pi * 45 * t / 2048 + 1)
    level = 0.7 * np.abs(truth).max()
    status = (truth > level).astype(np.int8) - (truth < -level).astype(np.int8)
    restored = restore_aspade(np.clip(truth, -level, level), status, level, -level)
    clipped = status != 0
    before = np.sqrt(np.mean((np.clip(truth, -level, level) - truth)[clipped] ** 2))
    assert np.sqrt(np.mean((restored - truth)[clipped] ** 2)) < before / 4
    for seed in range(200, 206):
        truth = synthetic_seismogram(np.random.default_rng(seed), 6000).astype(np.float64)
        for fraction in (0.7, 0.4):
            level = fraction * np.abs(truth).max()
            status = (truth > level).astype(np.int8) - (truth < -level).astype(np.int8)
            values = np.clip(truth, -level, level)
            restored = restore_aspade(values, status, level, -level)
            assert np.linalg.norm(restored - truth) < np.linalg.norm(values - truth), (seed, fraction)
    windows = np.stack([values[:256], values[1000:1256]])
    states = np.stack([status[:256], status[1000:1256]])
    together = declip_windows(windows, states, np.full(2, level), np.full(2, -level))
    for row in range(2):
        alone = declip_windows(windows[row:row + 1], states[row:row + 1], [level], [-level])
        np.testing.assert_allclose(together[row], alone[0])


def test_window_starts_cover_every_clipped_sample_and_only_windows_that_touch_one():
    clipped = np.zeros(1000, dtype=bool)
    clipped[[3, 500, 501, 999]] = True
    starts = window_starts(1000, 100, 25, clipped)
    covered = np.zeros(1000, dtype=bool)
    for start in starts:
        assert clipped[start:start + 100].any()
        covered[start:start + 100] = True
    assert covered[clipped].all() and starts[-1] == 900
    with pytest.raises(SeisclipError, match="fewer than the model's window"):
        window_starts(50, 100, 25, clipped[:50])


@pytest.mark.parametrize("definition", ["def001", "def002"])
def test_model_restoration_is_consistent_and_keeps_unclipped_samples_bit_identical(models, definition, tmp_path):
    _, record = clipped_signal(seed=3, n=300)
    # Labelled: detection from a plain file cannot tell a one-sample clipped run from a peak.
    source = write_labelled(tmp_path / "record.txt", record.values, record.status)
    done = seisclip(tmp_path, "restore", str(source), "--model", str(models[definition]), "--stride", "8")
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stderr and "windows" in done.stderr
    table = np.loadtxt(tmp_path / "record.restored.txt", skiprows=1)
    assert (tmp_path / "record.restored.png").read_bytes()[:4] == b"\x89PNG"
    np.testing.assert_array_equal(table[:, 0], np.arange(record.values.size))
    np.testing.assert_array_equal(table[:, 2], record.status)
    unclipped = record.status == 0
    assert np.array_equal(table[unclipped, 3], record.values[unclipped])
    assert np.all(table[record.status > 0, 3] >= record.clip_high)
    assert np.all(table[record.status < 0, 3] <= record.clip_low)
    # lower and upper: the band's bounds, or nan for both where the method gives none.
    lower, upper = table[:, 4], table[:, 5]
    assert table.shape[1] == 6 and np.array_equal(np.isnan(lower), np.isnan(upper))
    banded = ~np.isnan(lower)
    assert np.all(lower[banded] <= table[banded, 3]) and np.all(table[banded, 3] <= upper[banded])


def test_batched_windows_give_the_same_estimate_as_one_window_per_call(models):
    from seisclip.learn.model_dir import load_model
    from seisclip.restore.inference import ModelRestorer

    restorer = ModelRestorer.of(load_model(models["def002"]))
    _, record = clipped_signal(seed=4, n=300)
    starts = window_starts(record.values.size, LENGTH, 8, record.clipped)
    batched = restorer.predict_record_windows(record, starts, restorer.length)
    single = np.concatenate([restorer.predict_record_windows(record, starts[i:i + 1], restorer.length) for i in range(len(starts))])
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-3)


def test_windows_beyond_one_batch_are_all_predicted_in_order(models):
    from seisclip.learn.model_dir import load_model
    from seisclip.restore.inference import ModelRestorer

    loaded = load_model(models["def002"])
    _, record = clipped_signal(seed=4, n=300)
    starts = window_starts(record.values.size, LENGTH, 8, record.clipped)
    assert len(starts) % 2 == 1 and len(starts) > 2
    in_batches_of_two = ModelRestorer.of(loaded, batch_size=2).predict_record_windows(record, starts, LENGTH)
    in_one_batch = ModelRestorer.of(loaded).predict_record_windows(record, starts, LENGTH)
    assert in_batches_of_two.shape == (len(starts), LENGTH)
    np.testing.assert_allclose(in_batches_of_two, in_one_batch, rtol=1e-5, atol=1e-3)


def test_record_without_clipping_is_returned_unchanged(models, tmp_path):
    values = np.round(np.sin(np.arange(300) / 7.0) * 1000 + np.arange(300))  # the maximum is reached once
    source = write_plain(tmp_path / "clean.txt", values)
    for method in ("hybrid", "model", "spline", "pocs"):
        done = seisclip(tmp_path, "restore", str(source), "--model", str(models["def002"]), "--method", method,
                        "--out", f"{method}.txt")
        assert done.returncode == 0, done.stderr
        table = np.loadtxt(tmp_path / f"{method}.txt", skiprows=1)
        assert np.array_equal(table[:, 3], values) and not table[:, 2].any()


def test_labelled_and_plain_inputs_give_the_same_restoration(models, tmp_path):
    _, record = clipped_signal(seed=5, n=200)
    write_plain(tmp_path / "plain.txt", record.values)
    write_labelled(tmp_path / "labelled.txt", record.values, record.status)
    outputs = []
    for name in ("plain.txt", "labelled.txt"):
        done = seisclip(tmp_path, "restore", name, "--model", str(models["def002"]), "--out", f"{name}.out")
        assert done.returncode == 0, done.stderr
        outputs.append((tmp_path / f"{name}.out").read_text().splitlines()[1:])
    assert outputs[0] == outputs[1]


def test_top_level_script_and_existing_output(models, tmp_path):
    _, record = clipped_signal(seed=6, n=200)
    write_plain(tmp_path / "r.txt", record.values)
    command = [sys.executable, str(REPO_ROOT / "restore_clipped_waveform.py"), "--input_file", "r.txt",
               "--model_dir", str(models["def001"]), "--output_file", "out.txt", "--method", "spline"]
    done = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    before = (tmp_path / "out.txt").read_bytes()
    again = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (tmp_path / "out.txt").read_bytes() == before


@pytest.mark.parametrize("content, message", [
    (None, "record file not found"),
    ("h\n0 1 0\n1 2\n", "r.txt:3: expected 3 columns"),
    ("h\n0 1 0\n1 x 0\n", "r.txt:3: value 'x' is not a number"),
    ("h\n0 1 0\n1 2 2\n", "r.txt:3: status '2' is not -1, 0 or 1"),
    ("1\n2\nabc\n", "r.txt:3: value 'abc' is not a number"),
    ("".join(f"{v}\n" for v in [0, 9, 9, 0, -9, -9] * 3), "fewer than the model's window of 32"),
])
def test_bad_input_is_one_line_and_exit_1(models, tmp_path, content, message):
    if content is not None:
        (tmp_path / "r.txt").write_text(content)
    done = seisclip(tmp_path, "restore", "r.txt", "--model", str(models["def002"]))
    assert done.returncode == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_model_without_manifest_is_refused(models, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "model.keras").write_bytes((models["def002"] / "model.keras").read_bytes())
    write_plain(tmp_path / "r.txt", clipped_signal(n=100)[1].values)
    done = seisclip(tmp_path, "restore", "r.txt", "--model", str(broken))
    assert done.returncode == 1 and "manifest.json: manifest not found" in done.stderr


def test_evaluate_on_the_test_split_writes_tables_and_plot(models, tmp_path):
    done = seisclip(models["def001"].parents[1], "evaluate", "--model", str(models["def001"]),
                    "--out-dir", str(tmp_path / "ev"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "| clip level |" in done.stdout and "model (true peak) rms_clipped" in done.stdout
    report = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert set(report["metrics"]) == {"hybrid", "model", "model (true peak)", "spline", "pocs", "aspade",
                                      "cwr", "clipped input"}
    rows = report["metrics"]["clipped input"]
    assert sum(row["signals"] for row in rows) <= json.loads(
        (models["def001"] / "manifest.json").read_text())["segment_counts"]["test"]
    assert (tmp_path / "ev" / "evaluation.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "ev" / "evaluation.csv").read_text().startswith("method,bin,signals")


def test_evaluate_on_records_clipped_at_given_levels(models, tmp_path):
    truth, _ = clipped_signal(seed=8, n=400)
    write_plain(tmp_path / "rec.txt", truth)
    done = seisclip(tmp_path, "evaluate", "--model", str(models["def002"]), "--records", "rec.txt",
                    "--clip-levels", "0.3", "0.6", "--out-dir", "ev")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "ev" / "evaluation.json").read_text())["metrics"]
    assert [row["bin"] for row in metrics["spline"]] == ["0.3-0.4", "0.6-0.7"]
    assert all(row["rms_clipped"] < unchanged["rms_clipped"]
               for row, unchanged in zip(metrics["spline"], metrics["clipped input"]))


def test_clip_marks_every_sample_at_the_rail_clipped_as_a_real_record_reads(tmp_path):
    # Peak 10, clipped at 0.4: the level is 4, and the samples that only reach 4 are at the rail too.
    (tmp_path / "w.txt").write_text("".join(f"{value}\n" for value in (0, 4, 10, 3, -4, -6, 4, 1)))
    done = seisclip(tmp_path, "clip", "w.txt", "--level", "0.4", "--out", "c.txt")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in (tmp_path / "c.txt").read_text().splitlines()[1:]]
    assert [float(value) for _, value, _ in rows] == [0, 4, 4, 3, -4, -4, 4, 1]
    assert [int(status) for _, _, status in rows] == [0, 1, 1, 0, -1, -1, 1, 0]
    assert read_clipped_record(tmp_path / "c.txt").status.tolist() == [0, 1, 1, 0, -1, -1, 1, 0]

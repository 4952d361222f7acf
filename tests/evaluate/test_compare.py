"""``seisclip compare``: two tiny models and the baselines side by side per record family, the
numbers those of ``evaluate_records``, the cache of evaluations, and its errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.bank.wc_list import format_wc_line
from seisclip.cli import main
from seisclip.learn.model_dir import load_model
from seisclip.evaluate.runs import evaluate_records
from seisclip.restore.inference import ModelRestorer

from conftest import REPO_ROOT, sh

LENGTH = 64
SET = f"cmp_{LENGTH}_300"
DEFINITIONS = ("def002", "def003")
LEVELS = (0.3, 0.6)
#: Each family's records: the seeds of their generated seismograms (apart from the training bank's 0-5).
FAMILIES = {"teleseismic": (101, 102), "regional": (103, 104)}
RECORD_SAMPLES = 400
BASELINE_LABELS = {"spline": "spline", "pocs": "POCS", "aspade": "A-SPADE", "cwr": "CWRΔt", "clipped input": "clipped input"}


def row(row_id: str, *values):
    """A case of row ``row_id`` of the table 'What happens when…' (docs/robustness.md)."""
    return pytest.param(*values, id=row_id, marks=pytest.mark.bad_input(row_id))


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """def002 (fixed windows) and def003 (fully convolutional) trained one epoch on 300 windows of
    64 samples of six generated seismograms."""
    root = tmp_path_factory.mktemp("compare_models")
    (root / "bank").mkdir()
    lines = []
    for number in range(6):
        text = "".join(f"{value}\n" for value in synthetic_seismogram(np.random.default_rng(number), 3000).tolist())
        (root / "bank" / f"trace{number}").write_text(text)
        lines.append(format_wc_line(3000, 3000, len(text), f"trace{number}"))
    (root / "outfiles_contents_reordered.txt").write_text("".join(lines))
    (root / "outfiles").symlink_to("bank")
    done = sh(root, REPO_ROOT / "run_select_training_samples.sh", str(LENGTH), "300", "cmp")
    assert done.returncode == 0, done.stderr
    for definition in DEFINITIONS:
        done = sh(root, REPO_ROOT / "run_create_and_train_model.sh", str(LENGTH), SET, definition, "--epochs", "1",
                  "--quiet")
        assert done.returncode == 0, done.stderr
    return {definition: root / "models" / f"{SET}_{definition}" for definition in DEFINITIONS}


def loud_part(seed: int) -> np.ndarray:
    """The RECORD_SAMPLES around the peak of a generated seismogram: clipping cuts its wave train."""
    truth = synthetic_seismogram(np.random.default_rng(seed), 4000)
    start = int(np.clip(np.argmax(np.abs(truth)) - RECORD_SAMPLES // 2, 0, truth.size - RECORD_SAMPLES))
    return truth[start:start + RECORD_SAMPLES]


def write_records(folder: Path) -> dict[str, list[str]]:
    """ASCII records in one folder per family; their paths relative to ``folder``'s parent, per family."""
    paths: dict[str, list[str]] = {}
    for family, seeds in FAMILIES.items():
        (folder / family).mkdir(parents=True)
        for seed in seeds:
            (folder / family / f"r{seed}.txt").write_text("".join(f"{v}\n" for v in loud_part(seed).tolist()))
            paths.setdefault(family, []).append(f"{folder.name}/{family}/r{seed}.txt")
    return paths


def compare(capsys, *argv: str) -> tuple[int, str, list[str]]:
    """``seisclip compare ARGV`` run in this process: exit status, stdout and stderr lines."""
    status = main(["compare", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err.splitlines()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def expected_scores(records: dict[str, list[str]], models: dict[str, Path]) -> dict[tuple[str, str, str, str], dict]:
    """Per (model, method, family, clip level), the figures recomputed from evaluate_records' rows
    per record: the baselines evaluated alone (model ""), each model's own methods with it."""
    scores = {}
    for family, paths in records.items():
        labelled = [("", row) for row in evaluate_records(paths, list(LEVELS), None)]
        for name, path in models.items():
            labelled += [(name, row) for row in evaluate_records(paths, list(LEVELS), ModelRestorer.of(load_model(path)))
                         if row["method"] not in BASELINE_LABELS]
        for level in LEVELS:
            groups: dict[tuple[str, str], list[dict]] = {}
            for model, record_row in labelled:
                if record_row["clip_fraction"] == level:
                    groups.setdefault((model, record_row["method"]), []).append(record_row)
            spline = np.median([r["rms_clipped"] for r in groups[("", "spline")]])
            for (model, method), group in groups.items():
                median = np.median([r["rms_clipped"] for r in group])
                scores[(model, method, family, f"{level:g}")] = {
                    "records": len(group), "median_rms_clipped": median, "ratio_to_spline": median / spline,
                    "delta_sdr_db": np.mean([r["delta_sdr_db"] for r in group]),
                    "worse": sum(r["worse"] for r in group)}
    return scores


def main_table(markdown: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the first table of compare.md."""
    lines = [line for line in markdown.split("\n## ")[0].splitlines() if line.startswith("| ")]
    split = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return split[0], split[1:]


def test_compare_gives_a_column_per_family_the_numbers_of_evaluate_records_and_reuses_its_evaluations(
        models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    records = write_records(tmp_path / "dev_records")
    arguments = [str(models["def002"]), str(models["def003"]), "--records",
                 *(path for paths in records.values() for path in paths),
                 "--clip-fractions", *map(str, LEVELS), "--quiet"]

    expected = expected_scores(records, models)
    # Every method of a model's evaluation is a row ("def002" for "model", "def002 hybrid" for "hybrid").
    model_labels = [model if method == "model" else f"{model} {method}"
                    for model, method in dict.fromkeys((model, method) for model, method, _, _ in expected if model)]

    status, out, err = compare(capsys, *arguments, "--out-dir", "first")
    assert status == 0, err
    assert not [line for line in err if "reusing" in line]
    header, rows = main_table((tmp_path / "first" / "compare.md").read_text())
    assert header == ["method", "definition", "parameters", "epochs", "training_s", "test_mse", "test_mae",
                      "test_mse_clipped", "teleseismic", "regional", "worse", "differing choices"]
    assert [cells[0] for cells in rows] == [*model_labels, *BASELINE_LABELS.values()]
    by_label = {cells[0]: cells for cells in rows}
    assert out.startswith("# def002, def003 on 4 record files (teleseismic, regional), clipped at 0.3, 0.6")
    # The spline is its own reference; each model's parameters and epochs are its manifest's.
    assert by_label["spline"][8] == by_label["spline"][9] == "1.000"
    for name in DEFINITIONS:
        cells, manifest = by_label[name], load_model(models[name]).manifest
        assert cells[1] == name and cells[2] == str(manifest.model_parameters) and cells[3] == "1"
        # Only what differs: def003's own optimizer, augmentation, batch size and U-Net widths.
        choices = dict(choice.split("=", 1) for choice in cells[-1].split("; "))
        parameters = manifest.parameters
        assert choices["batch_size"] == str(parameters.batch_size)
        assert choices["augmentation"] == json.dumps(parameters.augmentation, sort_keys=True)
        assert set(choices) == {"augmentation", "optimizer_function", "batch_size",
                                *(["widths", "kernel_size"] if name == "def003" else [])}
        # The family columns: the mean over the levels of the ratio to the spline.
        for column, family in ((8, "teleseismic"), (9, "regional")):
            ratios = [expected[(name, "model", family, f"{level:g}")]["ratio_to_spline"] for level in LEVELS]
            assert float(cells[column]) == pytest.approx(np.mean(ratios), abs=5e-4)

    csv_rows = read_csv(tmp_path / "first" / "compare.csv")
    assert {(r["model"], r["method"], r["family"], r["clip_fraction"]) for r in csv_rows} == set(expected)
    for csv_row in csv_rows:
        figures = expected[(csv_row["model"], csv_row["method"], csv_row["family"], csv_row["clip_fraction"])]
        assert int(csv_row["records"]) == figures["records"] == 2
        assert int(csv_row["worse"]) == figures["worse"]
        for column in ("median_rms_clipped", "ratio_to_spline", "delta_sdr_db"):
            assert float(csv_row[column]) == pytest.approx(figures[column], rel=1e-5, abs=1e-9), column
    image = (tmp_path / "first" / "compare.png").read_bytes()
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 1000

    status, _, err = compare(capsys, *arguments, "--out-dir", "second")
    assert status == 0, err
    assert sorted(line.split(":")[1].strip() for line in err if "reusing the evaluation" in line) == [
        "baselines", "def002", "def003"]
    assert (tmp_path / "second" / "compare.csv").read_bytes() == (tmp_path / "first" / "compare.csv").read_bytes()

    changed = tmp_path / records["regional"][0]
    changed.write_text("".join(f"{v}\n" for v in loud_part(105).tolist()))
    status, _, err = compare(capsys, *arguments, "--out-dir", "third")
    assert status == 0, err
    assert not [line for line in err if "reusing" in line]
    third = read_csv(tmp_path / "third" / "compare.csv")
    first_by_family = {family: [r for r in csv_rows if r["family"] == family] for family in FAMILIES}
    assert [r for r in third if r["family"] == "teleseismic"] == first_by_family["teleseismic"]
    assert [r for r in third if r["family"] == "regional"] != first_by_family["regional"]

    status, _, err = compare(capsys, *arguments, "--out-dir", "third", "--overwrite", "--sort-by", "regional")
    assert status == 0 and any("reusing" in line for line in err)
    _, sorted_rows = main_table((tmp_path / "third" / "compare.md").read_text())
    assert sorted(cells[0] for cells in sorted_rows) == sorted(cells[0] for cells in rows)
    assert [float(cells[9]) for cells in sorted_rows] == sorted(float(cells[9]) for cells in sorted_rows)


@pytest.mark.parametrize("problem", [
    row("compare-model-unusable", "missing"),
    row("compare-model-changed", "changed"),
    row("compare-sort-column", "sort"),
    row("compare-output-exists", "exists"),
])
def test_a_bad_model_column_or_output_is_one_error_line(models, tmp_path, monkeypatch, capsys, problem):
    monkeypatch.chdir(tmp_path)
    records = write_records(tmp_path / "dev_records")
    changed = tmp_path / "changed_model"
    shutil.copytree(models["def002"], changed)
    with open(changed / "definition.py", "a") as definition:
        definition.write("# edited after training\n")
    (tmp_path / "out").mkdir()
    model, extra, message = {
        "missing": ("nowhere", [], "seisclip compare: error: unknown model 'nowhere': no such model directory here, "
                                   "and the bundled models are reference, reference-v1"),
        "changed": (str(changed), [], f"seisclip compare: error: {changed / 'definition.py'}: sha256 differs from "
                                      "the manifest's definition_sha256: the file changed after training"),
        "sort": (str(models["def002"]), ["--sort-by", "speed"],
                 "seisclip compare: error: --sort-by 'speed' is not a column; choose one of: method, definition, "
                 "parameters, epochs, training_s, test_mse, test_mae, test_mse_clipped, regional, worse"),
        "exists": (str(models["def002"]), [], "seisclip compare: error: out: comparison folder already exists; "
                                              "refusing to overwrite it (use --overwrite to replace it)"),
    }[problem]
    status, out, err = compare(capsys, str(models["def003"]), model, "--records", *records["regional"],
                               "--out-dir", "out", *extra)
    assert (status, out, err) == (1, "", [message])
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "evaluations").exists()


def test_without_records_the_table_compares_the_manifests(models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = compare(capsys, str(models["def002"]), str(models["def003"]), "--sort-by", "test_mse",
                               "--out-dir", "manifests")
    assert status == 0, err
    header, rows = main_table((tmp_path / "manifests" / "compare.md").read_text())
    assert header == ["method", "definition", "parameters", "epochs", "training_s", "test_mse", "test_mae",
                      "test_mse_clipped", "differing choices"]
    mse = {name: load_model(path).manifest.test_metrics["mse"] for name, path in models.items()}
    assert [cells[0] for cells in rows] == sorted(mse, key=mse.get)
    assert [float(cells[5]) for cells in rows] == pytest.approx(sorted(mse.values()), rel=1e-3)
    csv_rows = read_csv(tmp_path / "manifests" / "compare.csv")
    assert [(r["model"], r["family"], float(r["test_mse"])) for r in csv_rows] == [
        (name, "", pytest.approx(mse[name], rel=1e-5)) for name in sorted(mse, key=mse.get)]
    assert sorted(path.name for path in (tmp_path / "manifests").iterdir()) == ["compare.csv", "compare.json",
                                                                               "compare.md"]
    assert out.startswith("# def002, def003: their manifests")


def test_records_shorter_than_a_fixed_length_models_window_are_left_out_for_it_alone(models, tmp_path, monkeypatch,
                                                                                   capsys):
    """def002 takes windows of exactly 64 samples: a 48-sample record is left out of its rows (a
    note says so) and its ratio is to the spline on the records it restored; def003 takes it."""
    monkeypatch.chdir(tmp_path)
    records = write_records(tmp_path / "dev_records")["regional"]
    short = tmp_path / "dev_records" / "regional" / "short.txt"
    short.write_text("".join(f"{v}\n" for v in loud_part(106)[176:224].tolist()))
    paths = [*records, "dev_records/regional/short.txt"]
    status, _, err = compare(capsys, str(models["def002"]), str(models["def003"]), "--records", *paths,
                             "--clip-levels", "0.6", "--quiet", "--out-dir", "out")
    assert status == 0, err
    assert [line for line in err if line.startswith("note:")] == [
        "note: def002: 1 records shorter than its window left out; its ratios to the spline are on the records "
        "it restored"]
    rows = {(r["model"], r["method"]): r for r in read_csv(tmp_path / "out" / "compare.csv")}
    assert int(rows["def002", "model"]["records"]) == 2 and int(rows["def003", "model"]["records"]) == 3
    spline = {row["record"]: row["rms_clipped"] for row in evaluate_records(paths, [0.6], None)
              if row["method"] == "spline"}
    assert float(rows["def002", "model"]["ratio_to_spline"]) == pytest.approx(
        float(rows["def002", "model"]["median_rms_clipped"]) / np.median([spline[path] for path in records]), rel=1e-5)
    assert float(rows["", "spline"]["median_rms_clipped"]) == pytest.approx(np.median(list(spline.values())), rel=1e-5)


def test_evaluate_and_compare_give_the_same_scores_on_the_same_records_and_the_summary_reads_them(
        models, tmp_path, monkeypatch, capsys):
    """One score table: each family's records evaluated alone give, per clip fraction (one per bin
    here), the figures compare gives that family; the demo's summary shows the recommended
    method's ratios to the spline from that evaluation."""
    monkeypatch.chdir(tmp_path)
    records = write_records(tmp_path / "dev_records")
    status, _, err = compare(capsys, str(models["def002"]), "--records", *records["regional"],
                             "--clip-fractions", *map(str, LEVELS), "--quiet", "--out-dir", "cmp")
    assert status == 0, err
    compared = {(r["model"], r["method"], r["clip_fraction"]): r for r in read_csv(tmp_path / "cmp" / "compare.csv")}
    assert main(["evaluate", "--model", str(models["def002"]), "--records", *records["regional"],
                 "--clip-fractions", *map(str, LEVELS), "--quiet", "--out-dir", "ev"]) == 0
    capsys.readouterr()
    metrics = json.loads((tmp_path / "ev" / "evaluation.json").read_text())["metrics"]
    for method, model in (("model", "def002"), ("hybrid", "def002"), ("spline", ""), ("pocs", ""), ("aspade", "")):
        assert [score["bin"] for score in metrics[method]] == ["0.3-0.4", "0.6-0.7"]
        for score, level in zip(metrics[method], LEVELS):
            row = compared[(model, method, f"{level:g}")]
            assert int(row["records"]) == score["signals"] and int(row["worse"]) == score["worse"]
            for column in ("median_rms_clipped", "ratio_to_spline", "delta_sdr_db"):
                assert float(row[column]) == pytest.approx(score[column], rel=1e-5), (method, column)

    assert main(["evaluation-summary", "ev"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "hybrid's median error on clipped samples ÷ the spline's" in lines[0]
    for line, score in zip(lines[1:3], metrics["hybrid"]):
        assert line.startswith(f"  clipped at {score['bin']} of the peak: {score['ratio_to_spline']:.2f}  "
                               f"({score['median_rms_clipped']:.4f} vs ")
    assert lines[3] == ("Full results in ev/: evaluation.md (full table), evaluation.csv, evaluation.png, "
                        "records.csv (per record)")

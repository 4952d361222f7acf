"""The pages of docs/results/: written by the benches through bench/results_page.py, each
beginning with its command and naming the model and records by sha256; a rerun on the same model
and records prints the same tables."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.evaluate.metrics import DEFAULT_CLIP_FRACTIONS
from seisclip.fsio import sha256_bytes, sha256_file
from seisclip.learn.models import open_model

#: Each family's records: seeds of generated seismograms apart from the other tests' and the banks'.
FAMILIES = {"teleseismic": (211, 212), "local_volcanic": (213,)}


def write_development_set(root: Path) -> None:
    for family, seeds in FAMILIES.items():
        (root / "dev_records" / family).mkdir(parents=True)
        for seed in seeds:
            values = synthetic_seismogram(np.random.default_rng(seed), 600)
            (root / "dev_records" / family / f"r{seed}.txt").write_text("".join(f"{v}\n" for v in values.tolist()))
    (root / "dev_records" / "manifest.json").write_text('{"kind": "a development set for a test"}\n')


def bench(root: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), *args], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done


def tables_of(page: str) -> str:
    """What follows the header's date line: the title and the tables."""
    return page.split("\n* date: ", 1)[1].split("\n", 1)[1]


def test_the_development_set_page_names_its_command_model_records_and_machine_and_repeats_its_digits(
        tiny_model, tmp_path):
    write_development_set(tmp_path)
    model = str(tiny_model)
    arguments = ["--models", model, "--page", "page.md", "--cache", "cache"]
    first = bench(tmp_path, "results_development_set.py", *arguments)
    page = (tmp_path / "page.md").read_text()
    lines = page.splitlines()
    assert lines[0] == "```sh" and lines[2] == "```"
    assert lines[1].startswith("python ") and lines[1].endswith("bench/results_development_set.py " + " ".join(arguments))
    assert f"* model `{model}`: network sha256 `{open_model(model).sha256()}`" in lines
    assert (f"* development set `dev_records/manifest.json`: sha256 "
            f"`{sha256_file(tmp_path / 'dev_records' / 'manifest.json')}`") in lines
    assert any(line.startswith("* machine: ") and "cores; Python " in line and "TensorFlow " in line for line in lines)
    summary = tables_of(page).split("\n\n")[2].splitlines()
    assert summary[0] == "| method | local_volcanic | teleseismic |"
    assert [row.split(" | ")[0] for row in summary[2:]] == [
        "| tiny hybrid", "| tiny", "| spline", "| POCS", "| A-SPADE", "| CWRΔt", "| clipped input"]
    assert summary[4].startswith("| spline | 1.00 (")   # the spline's ratio to itself
    # The peak and PSA errors per family, averaged over the levels. The clipped input's peak is its
    # clip level on every record: its error is the mean of -log10(level).
    paragraphs = tables_of(page).split("\n\n")
    assert paragraphs[3].startswith("Peak error: the median over the family's records of |log10(restored peak")
    assert paragraphs[5].startswith("PSA error: the median over the family's records of the median over 20 periods")
    for table in (paragraphs[4].splitlines(), paragraphs[6].splitlines()):
        assert table[0] == "| method | local_volcanic | teleseismic |"
        assert [row.split(" | ")[0] for row in table[2:]] == [row.split(" | ")[0] for row in summary[2:]]
    clipped_input_error = -np.mean(np.log10(DEFAULT_CLIP_FRACTIONS))
    assert paragraphs[4].splitlines()[-1] == (f"| clipped input | {clipped_input_error:.3f} ({-clipped_input_error:+.3f}) | "
                                              f"{clipped_input_error:.3f} ({-clipped_input_error:+.3f}) |")
    assert all(float(cell) >= 0 for row in paragraphs[6].splitlines()[2:] for cell in row.strip("| ").split(" | ")[1:])
    # The tiny model has no band calibration: CWRΔt is the one method with a band.
    coverage = page.split("(the methods that give one):\n\n", 1)[1].split("\n\n")[0].splitlines()
    assert coverage[0] == "| family | clip level | CWRΔt |"
    assert all(0 <= float(row.split(" | ")[-1].rstrip(" %|")) <= 100 for row in coverage[2:])
    assert "## teleseismic: 2 record files" in page and "## local_volcanic: 1 record files" in page
    assert page.split("# The development set, per family\n\n", 1)[1] in first.stdout   # the page is what it printed

    (tmp_path / "page.md").rename(tmp_path / "first.md")
    bench(tmp_path, "results_development_set.py", *arguments)
    assert tables_of((tmp_path / "page.md").read_text()) == tables_of(page)


def test_the_demo_evaluation_page_names_the_records_by_the_sha256_of_their_files(tiny_model, tmp_path):
    write_development_set(tmp_path)
    records = sorted(str(path.relative_to(tmp_path)) for path in (tmp_path / "dev_records").glob("*/r*.txt"))
    done = bench(tmp_path, "results_demo_evaluation.py", "--model", str(tiny_model), "--records", "dev_records/*/r*.txt",
          "--page", "page.md")
    page = (tmp_path / "page.md").read_text()
    listing = "".join(f"{path}\0{sha256_file(tmp_path / path)}\n" for path in records).encode()
    assert f"* 3 records (dev_records/*/r*.txt): sha256 `{sha256_bytes(listing)}`" in page.splitlines()
    body = page.split("# The demo's evaluation on generated records\n\n", 1)[1]
    assert body.startswith("3 records, each clipped at 15 %") and body in done.stdout   # the page is what it printed


def test_the_hybrid_rules_page_is_what_the_bench_prints(tiny_model, tmp_path):
    write_development_set(tmp_path)
    done = bench(tmp_path, "bench_hybrid_rules.py", "--model", str(tiny_model), "--records",
                 "dev_records/teleseismic/r211.txt", "dev_records/local_volcanic/r213.txt", "--clip-levels", "0.4", "0.7",
                 "--page", "page.md")
    page = (tmp_path / "page.md").read_text()
    assert page.startswith("```sh\npython ") and "bench_hybrid_rules.py --model " in page.splitlines()[1]
    body = page.split("# Rules for the hybrid, on the development set\n\n", 1)[1]
    assert body == done.stdout
    assert "| rule | 40 % | 70 % |" in body and "\n| hybrid | " in body


def test_the_native_rate_page_is_what_the_bench_prints_and_names_both_record_sets(tiny_model, tmp_path):
    from seisclip.restore.seismic import resampled

    records = []
    for seed in (214, 215):
        native = synthetic_seismogram(np.random.default_rng(seed), 3000, sampling_rate=100.0).astype(np.float64)
        record = f"local_volcanic/r{seed}.txt"
        for folder, values in (("dev_records_native", native), ("dev_records", resampled(native, 100.0, 40.0, "r"))):
            (tmp_path / folder / "local_volcanic").mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / record).write_text("".join(f"{v:.9g}\n" for v in values.tolist()))
        records.append({"record": record, "family": "local_volcanic", "file": "pkg/test/data/day",
                        "sampling_rate_hz": 100.0})
    (tmp_path / "dev_records_native" / "manifest.json").write_text(json.dumps({"records": records}))
    (tmp_path / "dev_records" / "manifest.json").write_text('{"kind": "a development set for a test"}\n')
    done = bench(tmp_path, "bench_native_rate.py", "--model", str(tiny_model), "--clip-fractions", "0.4", "0.7",
                 "--page", "page.md")
    page = (tmp_path / "page.md").read_text()
    lines = page.splitlines()
    assert lines[1].endswith(f"bench/bench_native_rate.py --model {tiny_model} --clip-fractions 0.4 0.7 --page page.md")
    assert (f"* its windows at their own rate `dev_records_native/manifest.json`: sha256 "
            f"`{sha256_file(tmp_path / 'dev_records_native' / 'manifest.json')}`") in lines
    body = page.split("# Records restored at their own rate\n\n", 1)[1]
    assert body == done.stdout and body.startswith("2 records at 100 Hz, restored by tiny_32 hybrid (trained at 40 Hz)")
    per_level, over_levels = body.split("Over the clip levels 40 %, 70 %, the mean of each family's medians:", 1)
    rows = [line for line in per_level.splitlines() if line.startswith("| local_volcanic")]
    assert [row.split(" | ")[:3] for row in rows] == [["| local_volcanic", "40 %", "2"],
                                                      ["| local_volcanic: pkg/test/data", "40 %", "2"],
                                                      ["| local_volcanic", "70 %", "2"],
                                                      ["| local_volcanic: pkg/test/data", "70 %", "2"]]
    assert all(row.rstrip(" |").endswith("%") for row in rows)   # the share of clipped samples beyond reach
    means = [line.split(" | ") for line in over_levels.splitlines() if line.startswith("| local_volcanic")]
    assert [row[0] for row in means] == ["| local_volcanic", "| local_volcanic: pkg/test/data"]
    for row in means:
        at_40, band = float(row[1]), float(row[2])
        # The mean of the two levels' medians, and its ratio as printed.
        levels = [float(level.split(" | ")[3]) for level in rows if level.split(" | ")[0] == row[0]]
        assert at_40 == pytest.approx(np.mean(levels), abs=1e-4) and float(row[3]) == pytest.approx(band / at_40, abs=2e-3)

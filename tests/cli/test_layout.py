"""The package's layout follows the data's way: bank → sets → learn → restore → evaluate → the
command line.

Read from the source (every import, at the top of a module or inside a function): a stage
imports only its own and lower stages, nothing imports in a cycle, and only ``learn`` imports
TensorFlow or Keras. No module is over MAX_MODULE_LINES lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "seisclip"
#: Each stage's rank; the shared modules at the bottom, the command line at the top.
STAGES = {"errors": 0, "fsio": 0, "provenance": 0, "arguments": 0, "bank": 1, "sets": 2, "learn": 3, "restore": 4,
          "evaluate": 5, "api": 6, "cli": 7, "restoration_cli": 7, "__main__": 7}
MAX_MODULE_LINES = 450
#: Data inside the package, not its code: the bundled models (their definition.py is a record of
#: how they were trained, and never runs).
DATA_FOLDERS = {PACKAGE / "pretrained"}


def package_sources(folder: Path = PACKAGE) -> list[Path]:
    """The package's own modules below ``folder``, in order, its data folders left out."""
    return sorted(path for path in folder.rglob("*.py") if not any(data in path.parents for data in DATA_FOLDERS))


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """Every module ``path`` imports, absolute (``seisclip.sets.split``, ``numpy``)."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            found.append(module)
            # "from . import x" may name a module
            found += [f"{module}.{alias.name}" for alias in node.names
                      if (root / f"{module}.{alias.name}".replace(".", "/")).with_suffix(".py").is_file()]
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in package_sources()}
    return {name: {target for target in imports(path) if target in modules and target != "seisclip"}
            for name, path in modules.items()}


def stage(module: str) -> int:
    parts = module.split(".")
    # The package itself is the API's front (seisclip.load_model, seisclip.restore): ranked with it.
    return STAGES[parts[1]] if len(parts) > 1 else STAGES["api"]


def test_every_module_belongs_to_a_stage():
    assert all(len(name.split(".")) == 1 or name.split(".")[1] in STAGES for name in graph())


def test_no_module_is_over_the_line_limit():
    lengths = {module_name(path): len(path.read_text().splitlines()) for path in package_sources()}
    assert "seisclip.cli" in lengths
    assert {name: lines for name, lines in lengths.items() if lines > MAX_MODULE_LINES} == {}


def test_evaluation_is_a_stage_between_restoration_and_the_command_line():
    """Evaluation runs restorations and the command line runs evaluations, never the other way."""
    assert (PACKAGE / "evaluate" / "__init__.py").is_file()
    assert STAGES["restore"] < STAGES["evaluate"] < STAGES["cli"]
    assert all(stage(name) == STAGES["evaluate"] for name in graph() if name.startswith("seisclip.evaluate."))


def test_the_api_is_a_stage_above_restoration_and_evaluation():
    """The Python API applies restorations; files, one record or an archive, go through it."""
    assert STAGES["restore"] < STAGES["evaluate"] < STAGES["api"] < STAGES["cli"]
    assert {"seisclip.api.archive", "seisclip.api.single"} <= set(graph())


def test_no_stage_imports_a_higher_one():
    upward = [f"{importer} imports {imported}" for importer, targets in graph().items() for imported in targets
              if stage(imported) > stage(importer)]
    assert upward == []


def test_no_import_cycle():
    edges = graph()
    state: dict[str, str] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_only_learn_imports_tensorflow_or_keras():
    importers = sorted(module_name(path) for path in package_sources()
                       if any(target.split(".")[0] in ("tensorflow", "keras") for target in imports(path)))
    assert importers and all(name.startswith("seisclip.learn.") for name in importers), importers


def test_the_checks_see_an_upward_import_and_a_cycle(tmp_path):
    """The parser the checks rely on resolves relative imports, also inside functions."""
    bank = tmp_path / "seisclip" / "bank"
    bank.mkdir(parents=True)
    source = bank / "probe.py"
    source.write_text("def f():\n    from ..learn.training import train\n    from . import hdf5\n")
    (bank / "hdf5.py").write_text("")
    assert imports(source, tmp_path) == ["seisclip.learn.training", "seisclip.bank", "seisclip.bank.hdf5"]
    assert stage("seisclip.learn.training") > stage(module_name(source, tmp_path))


#: What turns windows into a network's inputs, or clips a signal; only ``sets`` calls these.
WINDOW_SCALING = {"scaled_windows", "scale_by_run_length", "ClippedWindows", "network_inputs", "clip_status",
                  "clip_and_label"}


def window_scaling_calls(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """The calls in ``path`` of the functions that scale windows or clip signals, and of ``clip``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in WINDOW_SCALING or (name == "clip" and "level" in ast.unparse(node)):
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    return found


def test_restore_and_learn_do_not_scale_windows_or_clip_signals_themselves():
    """Training, restoring and evaluating make a network's inputs through the one function in
    ``sets`` (and clip through ``sets.labels.clip_signal``), so they cannot drift apart."""
    calls = [call for stage_name in ("learn", "restore", "evaluate") for path in sorted((PACKAGE / stage_name).rglob("*.py"))
             for call in window_scaling_calls(path)]
    assert calls == []
    assert any("scaled_windows" in call for path in (PACKAGE / "sets").rglob("*.py")
               for call in window_scaling_calls(path))


def test_the_window_scaling_check_sees_a_stage_doing_it_itself(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("import numpy as np\nfrom seisclip.sets.labels import scale_by_run_length\n"
                      "def inputs(w, s, level):\n    return np.clip(w, -level, level), scale_by_run_length(s)\n")
    calls = window_scaling_calls(source, tmp_path)
    assert [call.split()[-1] for call in calls] == ["clip", "scale_by_run_length"]


def private_attributes(path: Path) -> list[str]:
    """``line: expression`` for each private attribute ``path`` reads of anything but its own
    ``self`` or ``cls``: another library's internals (Keras' ``model._symbolic_build``, say)."""
    tree = ast.parse(path.read_text())
    return [f"{node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_")
            and not (node.attr.startswith("__") and node.attr.endswith("__"))
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))]


def test_seisclip_uses_public_apis_only():
    uses = {module_name(path): found for path in package_sources() if (found := private_attributes(path))}
    assert uses == {}


def test_the_public_api_check_sees_a_private_attribute(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("class Fit:\n    def run(self, model):\n        self._steps = 1\n"
                      "        model._symbolic_build(data_batch=None)\n        return model.__class__\n")
    assert private_attributes(source) == ["4: model._symbolic_build"]


#: The one module that finds clipped runs from sample values, and the names detectors went by.
DETECTOR_MODULE = Path("seisclip") / "bank" / "clipping.py"
DETECTOR_NAMES = {"detect_clipping", "clipping_evidence", "status_from_clip_counts", "detect_clipped", "clipped_runs"}
_EXTREMES = {"max", "min", "amax", "amin", "nanmax", "nanmin"}


def _extreme_of(node: ast.AST) -> str | None:
    """``X`` when ``node`` is ``X.max()``, ``np.max(X)`` or the like (``min`` too)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _EXTREMES:
        if node.args and isinstance(node.func.value, ast.Name) and node.func.value.id in ("np", "numpy"):
            return ast.unparse(node.args[0])
        return ast.unparse(node.func.value)
    return None


def _extremes_in(node: ast.AST, names: dict[str, str]) -> set[str]:
    """The arrays whose maximum or minimum ``node`` holds, directly or by a name given one."""
    found = set()
    for inner in ast.walk(node):
        if (array := _extreme_of(inner)) is not None:
            found.add(array)
        elif isinstance(inner, ast.Name) and inner.id in names:
            found.add(names[inner.id])
    return found


def _is_array(node: ast.AST, array: str) -> bool:
    """``node`` is ``array`` itself, or arithmetic on it (``values - level``, ``np.abs(values)``)."""
    if ast.unparse(node) == array:
        return True
    if isinstance(node, ast.BinOp):
        return _is_array(node.left, array) or _is_array(node.right, array)
    if isinstance(node, ast.UnaryOp):
        return _is_array(node.operand, array)
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("abs", "np.abs", "numpy.abs") and node.args:
        return _is_array(node.args[0], array)
    return False


def clipping_detections(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """``path:line expression`` for each place ``path`` finds clipped samples from sample values:
    an array compared with its own maximum or minimum (``values >= values.max() - tolerance``, or
    through a name assigned it: ``high = values.max()`` ... ``values == high``), and each
    definition of a detector's name."""
    tree = ast.parse(path.read_text())
    where = path.relative_to(root)
    found = [f"{where}:{node.lineno} def {node.name}" for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in DETECTOR_NAMES]
    scopes = [tree] + [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        names: dict[str, str] = {}   # name -> the array whose extreme it was given
        for node in ast.walk(scope):
            if isinstance(node, (ast.Assign, ast.For)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                source = node.value if isinstance(node, ast.Assign) else node.iter
                arrays = _extremes_in(source, names)
                for target in targets:
                    for name in [target, *(target.elts if isinstance(target, ast.Tuple) else [])]:
                        if isinstance(name, ast.Name) and arrays:
                            names[name.id] = sorted(arrays)[0]
        for node in ast.walk(scope):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            for one in operands:
                for array in _extremes_in(one, names):
                    # values == high, or np.abs(values - high) == 0
                    if any(_is_array(operand, array) for operand in operands):
                        found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    return sorted(set(found))


def test_one_detector_finds_clipped_runs_from_sample_values():
    """Bank import, restore, the archive run, evaluation and the benches all find clipped samples
    through ``seisclip.bank.clipping.detect_clipping``, so no two of them can disagree."""
    sources = package_sources() + sorted((REPO_ROOT / "bench").rglob("*.py"))
    elsewhere = [found for path in sources if path.relative_to(REPO_ROOT) != DETECTOR_MODULE
                 for found in clipping_detections(path)]
    assert elsewhere == []
    # The check sees the detector itself, so it is not passing for want of anything to see.
    assert any("def detect_clipping" in found for found in clipping_detections(REPO_ROOT / DETECTOR_MODULE))
    assert len(clipping_detections(REPO_ROOT / DETECTOR_MODULE)) > 1


def test_the_detector_check_sees_a_second_detector(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("import numpy as np\n"
                      "def flat_tops(values, tolerance):\n    return values >= values.max() - tolerance\n"
                      "def rails(values):\n    high, low = float(values.max()), float(np.min(values))\n"
                      "    for level in (high, low):\n        yield np.abs(values - level) == 0\n"
                      "def clipping_evidence(values):\n    return None\n"
                      "def windows(magnitude):\n    strongest = magnitude.max()\n    return magnitude[0] < strongest\n")
    assert clipping_detections(source, tmp_path) == [
        "probe.py:3 values >= values.max() - tolerance", "probe.py:7 np.abs(values - level) == 0",
        "probe.py:8 def clipping_evidence"]

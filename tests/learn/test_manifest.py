"""ModelManifest reads every format a model directory may hold and writes format 4."""

from __future__ import annotations

import json

import pytest

from seisclip.errors import SeisclipError
from seisclip.learn.manifest import MANIFEST_FORMAT_VERSION, ModelManifest
from seisclip.learn.model_dir import ModelDirectory
from seisclip.sets.channels import DEFAULT_INPUTS

from conftest import model_manifest


def test_a_format_2_manifest_reads_with_what_it_lacks_as_none():
    raw = model_manifest(64, sbrl=True)
    manifest = ModelManifest.from_json(raw, "m/manifest.json")
    assert (manifest.format_version, manifest.parameters.segment_length, manifest.parameters.sbrl) == (2, 64, True)
    assert manifest.parameters.min_peak_counts == 50.0 and manifest.parameters.normalisation == "clip"
    assert (manifest.parameters.sampling_rate, manifest.model_sha256, manifest.run) == (None, None, {})
    assert manifest.imported_definitions is None   # not recorded before format 4


def test_a_format_1_manifest_gets_def001s_inputs_and_peak_normalisation_as_that_format_meant():
    raw = model_manifest(32, normalisation="peak")
    del raw["format_version"]
    manifest = ModelManifest.from_json(raw, "m/manifest.json")
    assert manifest.format_version == 1 and manifest.parameters.inputs == list(DEFAULT_INPUTS)
    assert manifest.parameters.custom_functions == [] and manifest.parameters.augmentation == []


def test_format_5_round_trips_and_keeps_the_runs_provenance():
    imported = [{"name": "def004", "file": "create_and_train_model_def004.py", "sha256": "a" * 64}]
    origin = {"name": "def011", "file": "create_and_train_model_def011.py", "sha256": "b" * 64}
    raw = {**model_manifest(32), "format_version": MANIFEST_FORMAT_VERSION, "host": "node7",
           "versions": {"numpy": "2.1"}, "imported_definitions": imported, "started_from": origin}
    manifest = ModelManifest.from_json(raw, "m/manifest.json")
    assert MANIFEST_FORMAT_VERSION == 5 and manifest.imported_definitions == imported
    assert manifest.started_from == origin
    assert manifest.run == {"host": "node7", "versions": {"numpy": "2.1"}}
    again = ModelManifest.from_json(json.loads(json.dumps(manifest.to_json())), "m/manifest.json")
    assert again == manifest and again.to_json()["host"] == "node7"


@pytest.mark.parametrize("change, message", [
    (lambda raw: raw.pop("seed"), "manifest lacks 'seed'"),
    (lambda raw: raw["parameters"].update(sbrl="no"), "manifest's 'parameters.sbrl' is \"no\", not true or false"),
    (lambda raw: raw.update(kind="seisclip selection"), "manifest is a 'seisclip selection' manifest, not a "
                                                         "'seisclip model' one"),
    # Loading reads the files it names: nothing but a definition script beside definition.py.
    (lambda raw: raw.update(imported_definitions=[{"name": "def004", "file": "../../evil.py", "sha256": "a" * 64}]),
     "manifest's imported_definitions entry {'name': 'def004', 'file': '../../evil.py', 'sha256': '" + "a" * 64
     + "'} is not a definition's name, script file and sha256"),
    (lambda raw: raw.update(imported_definitions="def004"),
     "manifest's imported_definitions is 'def004', not a list"),
])
def test_a_damaged_manifest_is_one_error_naming_the_file(tmp_path, change, message):
    raw = model_manifest(32)
    change(raw)
    (tmp_path / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(SeisclipError) as raised:
        ModelDirectory.open(tmp_path)
    assert str(raised.value) == f"{tmp_path / 'manifest.json'}: {message}"

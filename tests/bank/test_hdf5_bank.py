"""The HDF5 bank: ingest, verify, reading index files from it, streaming batches and export."""

from __future__ import annotations

import contextlib
import json

import h5py
import numpy as np
import pytest

from seisclip.bank import ingest as bank_ingest
from seisclip.bank.ascii import parse_waveform
from seisclip.bank.hdf5 import BankSource, parse_archive_name
from seisclip.bank.ingest import ingest_bank, sample_dtype
from seisclip.bank.wc_list import format_wc_line
from seisclip.errors import SeisclipError
from seisclip.fsio import sha256_file
from seisclip.learn.pipeline import ordered_dataset, training_dataset
from seisclip.sets.export import ExportRequest, export_set
from seisclip.sets.index_file import format_index, read_index
from seisclip.sets.pairs import Representation, SegmentPairs, epoch_order, labelled_batch
from seisclip.sets.segments import load_segments
from seisclip.sets.split import default_seed, model_name, split_positions

from conftest import METADATA_NAME

LENGTH = 64
#: Loud enough that some random segments of the test bank (values within +-30000) fall below it.
MIN_PEAK = 29_000


def ingest(bank, out: str = "bank.h5") -> str:
    ingest_bank(METADATA_NAME, "bank", out, progress=False)
    return out


def write_index(bank, n: int = 300, name: str = "set.txt", seed: int = 0):
    """Random segments of the bank's files and of one file it lacks; some run past their file's end."""
    paths = [f"outfiles/{file}" for file in bank.counts] + ["outfiles/not_in_the_bank"]
    counts = np.array([*bank.counts.values(), 1000])
    rng = np.random.default_rng(seed)
    files = rng.integers(0, len(paths), size=n)
    starts = rng.integers(0, np.maximum(counts[files] - LENGTH // 2, 1))
    (bank.root / name).write_bytes(format_index(starts, rng.integers(100, 1001, size=n), files, paths))
    return read_index(name)


def test_ingest_then_verify_round_trip(bank, run, tmp_path):
    code, out, err = run("seisclip", "bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank",
                         "--out", "bank.h5", "--quiet")
    assert code == 0, err
    assert out.startswith(f"bank.h5: {len(bank.counts)} traces")
    with h5py.File(tmp_path / "bank.h5") as stored:
        traces = stored["traces"]
        assert list(traces["name"].asstr()[()]) == list(bank.counts)
        assert traces["count"][()].tolist() == list(bank.counts.values())
        assert stored.attrs["sample_dtype"] == "<i2" and stored.attrs["sample_kind"] == "integer"
        assert stored.attrs["sampling_rate_hz"] == 40.0
        assert stored.attrs["metadata_sha256"] == sha256_file(bank.metadata)
        for number, name in enumerate(bank.counts):
            source = bank.folder / name
            offset, count = traces["offset"][number], traces["count"][number]
            values = stored["samples"][offset:offset + count]
            np.testing.assert_array_equal(values, parse_waveform(source.read_bytes(), name))
            assert traces["source_sha256"][number].decode() == sha256_file(source)
            assert traces["source_bytes"][number] == source.stat().st_size
        assert traces["station"].asstr()[0] == "BRV" and traces["date"].asstr()[0] == "1983-09-24"
        assert traces["channel"].asstr()[0] == "s09E0.024" and traces["record_offset"][3] == 3
    code, out, err = run("seisclip", "bank", "verify", "bank.h5", "--ascii-dir", "bank", "--quiet")
    assert code == 0, out + err
    assert out.startswith(f"bank verify: OK, {len(bank.counts)} traces")


@pytest.mark.parametrize("low, high, integer, expected", [
    (-5, 100, True, "|i1"), (-129, 0, True, "<i2"), (0, 40_000, True, "<i4"), (-2**40, 2**40, True, "<i8"),
    (0, 1, False, "<f8"),
])
def test_sample_type_is_the_narrowest_that_holds_every_value(low, high, integer, expected):
    assert sample_dtype(low, high, integer).str == expected


def test_decimals_are_stored_exactly_as_float64_and_integral_decimals_as_integers(make_bank):
    bank = make_bank((10, 12))
    names = list(bank.counts)
    (bank.folder / names[0]).write_text("1.0\n-2.0\n3\n" + "4\n" * 7)
    (bank.folder / names[1]).write_text("0.5\n" * 12)

    def list_files(*listed):
        bank.metadata.write_text("".join(format_wc_line(bank.counts[name], bank.counts[name],
                                                        (bank.folder / name).stat().st_size, name) for name in listed))

    list_files(names[0])
    ingest(bank, "integral.h5")
    list_files(*names)
    ingest(bank, "decimal.h5")
    with h5py.File("integral.h5") as integral, h5py.File("decimal.h5") as decimal:
        assert integral["samples"].dtype == np.int8 and integral.attrs["sample_kind"] == "integer"
        assert decimal["samples"].dtype == np.float64 and decimal.attrs["sample_kind"] == "float"
        np.testing.assert_array_equal(decimal["samples"][10:], [0.5] * 12)
    assert sha256_file("decimal.h5") != sha256_file("integral.h5")


def test_archive_names_parse_and_others_are_recorded_as_unparsed():
    assert parse_archive_name("19880914.0358.BRV.SKM.s07Z0.024.txtseg00001199") == {
        "date": "1988-09-14", "time": "03:58", "station": "BRV", "instrument": "SKM", "channel": "s07Z0.024",
        "record_offset": 1199}
    assert parse_archive_name("waveform_0001.txt") is None
    assert parse_archive_name("19881399.0358.BRV.SKM.s07Z0.024.txtseg00001199") is None   # no 13th month


def test_unparsed_names_get_empty_fields(make_bank, tmp_path):
    bank = make_bank((100,))
    name = next(iter(bank.counts))
    (bank.folder / name).rename(bank.folder / "plain.txt")
    bank.metadata.write_text(bank.metadata.read_text().replace(name, "plain.txt"))
    ingest(bank)
    with h5py.File(tmp_path / "bank.h5") as stored:
        assert not stored["traces/name_parsed"][0]
        assert stored["traces/station"].asstr()[0] == "" and stored["traces/record_offset"][0] == -1


def _corrupt(path: str, how: str) -> None:
    with h5py.File(path, "r+") as stored:
        if how == "changed value":
            stored["samples"][50] += 1   # sample 50 lies in trace 2 (counts 5, 40, 63, ...)
        elif how == "truncated dataset":
            values = stored["samples"][:-10]
            del stored["samples"]
            stored.create_dataset("samples", data=values)
        elif how == "wrong hash":
            stored["traces/samples_sha256"][2] = b"0" * 64


@pytest.mark.parametrize("how, expected", [
    ("changed value", ["trace 2 (19830924.0500.BRV.SKM.s09E0.024.txtseg00000002): sha256 of the stored values"]),
    ("truncated dataset", ["/samples has shape (10084,), the traces add up to (10094,)",
                           "trace 9 (19830924.0500.BRV.SKM.s09E0.024.txtseg00000009): 5990 of its 6000 samples "
                           "are stored (/samples is truncated)"]),
    ("wrong hash", ["trace 2 (19830924.0500.BRV.SKM.s09E0.024.txtseg00000002): sha256 of the stored values",
                    "differs from the recorded 0000000000000000000000000000000000000000000000000000000000000000"]),
])
def test_verify_reports_a_corrupted_trace(bank, run, how, expected):
    _corrupt(ingest(bank), how)
    code, out, err = run("seisclip", "bank", "verify", "bank.h5", "--quiet")
    assert code == 1, out + err
    problems = out.splitlines()[:-1]
    assert out.splitlines()[-1].startswith(f"bank verify: FAILED, {len(problems)} problem(s)")
    for text in expected:
        assert any(text in problem for problem in problems), (text, problems)
    refused = pytest.raises(SeisclipError, match="bank is damaged")
    with refused if how == "truncated dataset" else contextlib.nullcontext():
        BankSource("bank.h5")


def test_verify_against_the_ascii_files_reports_a_changed_source(bank, run):
    ingest(bank)
    victim = bank.folder / list(bank.counts)[4]
    lines = victim.read_text().splitlines()
    lines[7] = str(int(lines[7]) + 1)
    victim.write_text("\n".join(lines) + "\n")
    code, out, _ = run("seisclip", "bank", "verify", "bank.h5", "--ascii-dir", "bank", "--quiet")
    assert code == 1
    assert f"bank/{victim.name}: sha256 " in out and "(the file changed after ingest)" in out
    assert f"bank/{victim.name}: sample 7 (line 8) is {lines[7]}, the bank stores {int(lines[7]) - 1}" in out
    code, out, _ = run("seisclip", "bank", "verify", "bank.h5", "--quiet")
    assert code == 0, out


def test_an_ingest_stopped_by_a_bad_file_leaves_no_bank(bank, run, tmp_path):
    victim = list(bank.counts)[6]
    lines = (bank.folder / victim).read_text().splitlines()
    lines[10] = "12x"
    (bank.folder / victim).write_text("\n".join(lines) + "\n")
    code, _, err = run("seisclip", "bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank",
                       "--out", "bank.h5", "--quiet")
    assert code == 1
    assert err.strip() == f"seisclip bank: error: bank/{victim}:11: value '12x' is not a number"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bank", "outfiles", METADATA_NAME]


def test_an_ingest_interrupted_while_writing_leaves_no_bank(bank, monkeypatch, tmp_path):
    hashed = []

    def interrupt_at_the_third_trace(values):
        hashed.append(values)
        if len(hashed) == 3:
            raise KeyboardInterrupt
        return "0" * 64

    monkeypatch.setattr(bank_ingest, "values_sha256", interrupt_at_the_third_trace)
    with pytest.raises(KeyboardInterrupt):
        ingest(bank)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bank", "outfiles", METADATA_NAME]


def test_ingest_never_overwrites_an_existing_bank(bank, run, tmp_path):
    (tmp_path / "bank.h5").write_bytes(b"precious")
    args = ("bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank", "--out", "bank.h5", "--quiet")
    code, _, err = run("seisclip", *args)
    assert code == 1 and "bank.h5: bank already exists" in err
    assert (tmp_path / "bank.h5").read_bytes() == b"precious"
    code, _, err = run("seisclip", *args, "--overwrite")
    assert code == 0, err
    assert BankSource(tmp_path / "bank.h5").bank.names == list(bank.counts)


@pytest.mark.parametrize("change, message", [
    (lambda bank, name: (bank.folder / name).unlink(), "waveform file listed on outfiles_contents_reordered.txt line 5 not found"),
    (lambda bank, name: (bank.folder / name).write_text("1\n" * 7), "7 samples, outfiles_contents_reordered.txt:5 lists 65"),
])
def test_ingest_rejects_a_file_that_disagrees_with_the_metadata(bank, change, message):
    name = list(bank.counts)[4]
    change(bank, name)
    with pytest.raises(SeisclipError, match=message):
        ingest(bank)


def test_bad_metadata_lines_are_skipped_or_with_strict_an_error(bank, capsys):
    bank.metadata.write_text(bank.metadata.read_text() + "3 columns only\n")
    ingest(bank)
    assert "skipped 1 of 11 lines: 1 not 4 columns (line 11)" in capsys.readouterr().err
    with pytest.raises(SeisclipError, match=r":11: bad metadata line \(not 4 columns; --strict is set\)"):
        ingest_bank(METADATA_NAME, "bank", "strict.h5", strict=True, progress=False)


def test_a_file_that_is_not_a_bank_is_one_clear_error(tmp_path):
    (tmp_path / "other.h5").write_bytes(b"not hdf5")
    with pytest.raises(SeisclipError, match="cannot open the bank as HDF5"):
        BankSource(tmp_path / "other.h5")
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(SeisclipError, match="not a seisclip waveform bank"):
        BankSource(tmp_path / "empty.h5")


def test_index_paths_find_traces_by_their_trailing_name(bank):
    source = BankSource(ingest(bank))
    name = list(bank.counts)[3]
    for path in (f"outfiles/{name}", f"/data/archive/{name}", f"./outfiles/../elsewhere/{name}", name):
        assert source.trace_number(path) == 3, path
    assert source.trace_number("outfiles/unknown") is None


@pytest.mark.parametrize("min_peak", [50, MIN_PEAK])
def test_ascii_folder_and_bank_give_identical_arrays(bank, min_peak):
    index = write_index(bank)
    from_ascii = load_segments(index, LENGTH, min_peak=min_peak, progress=False)
    from_bank = load_segments(index, LENGTH, min_peak=min_peak, progress=False, source=BankSource(ingest(bank)))
    assert set(from_ascii.skipped) == ({"file missing", "file too short", "peak below min_peak"} if min_peak == MIN_PEAK
                                       else {"file missing", "file too short"})
    assert from_bank.segments.dtype == from_ascii.segments.dtype == np.float64
    np.testing.assert_array_equal(from_bank.used, from_ascii.used)
    np.testing.assert_array_equal(from_bank.segments, from_ascii.segments)
    assert from_bank.skip_reasons == from_ascii.skip_reasons
    assert from_bank.files == from_ascii.files


def test_strict_stops_at_the_same_line_from_either_bank(bank):
    index = write_index(bank)
    errors = []
    for source in (None, BankSource(ingest(bank))):
        with pytest.raises(SeisclipError) as caught:
            load_segments(index, LENGTH, strict=True, progress=False, source=source)
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "--strict is set" in errors[0]


def test_vectorised_reads_return_each_segment_in_the_order_asked(bank):
    bank_file = BankSource(ingest(bank)).bank
    everything = bank_file.samples[()]
    rng = np.random.default_rng(3)
    starts = np.concatenate([rng.integers(0, everything.size - 16, size=200), [0, 0, 5, everything.size - 16]])
    rng.shuffle(starts)
    rows = bank_file.read_segments(starts, 16)
    np.testing.assert_array_equal(rows, everything[starts[:, None] + np.arange(16)])
    assert bank_file.read_segments(np.zeros(0, dtype=np.int64), 16).shape == (0, 16)


def test_streamed_batches_are_the_in_memory_batches(bank):
    index = write_index(bank, n=400)
    source = BankSource(ingest(bank))
    in_memory = SegmentPairs.in_memory(load_segments(index, LENGTH, progress=False), Representation(sbrl=True))
    streamed = SegmentPairs.from_bank(load_segments(index, LENGTH, progress=False, source=source, keep_segments=False),
                                      source, Representation(sbrl=True))
    parts = split_positions(len(in_memory.clip_fraction), seed=11)
    batches = [list(training_dataset(pairs, parts["train"], 32, seed=11, epochs=2)) for pairs in (in_memory, streamed)]
    assert len(batches[0]) == len(batches[1]) == 2 * -(-len(parts["train"]) // 32)
    for (inputs, packed), (streamed_inputs, streamed_packed) in zip(*batches):
        np.testing.assert_array_equal(inputs.numpy(), streamed_inputs.numpy())
        np.testing.assert_array_equal(packed.numpy(), streamed_packed.numpy())
    first_epoch = np.concatenate([inputs.numpy() for inputs, _ in batches[0][:len(batches[0]) // 2]])
    expected = labelled_batch(in_memory.read_segments(epoch_order(parts["train"], 11, 0)),
                              in_memory.clip_fraction[epoch_order(parts["train"], 11, 0)], Representation(sbrl=True)).inputs
    np.testing.assert_array_equal(first_epoch, expected)
    validation = [np.concatenate([x.numpy() for x, _ in ordered_dataset(pairs, parts["validation"], 32)])
                  for pairs in (in_memory, streamed)]
    np.testing.assert_array_equal(*validation)


def test_each_epoch_has_its_own_seeded_order():
    positions = np.arange(50, 150)
    first, again, second = epoch_order(positions, 5, 0), epoch_order(positions, 5, 0), epoch_order(positions, 5, 1)
    np.testing.assert_array_equal(first, again)
    assert sorted(first.tolist()) == positions.tolist() and not np.array_equal(first, second)


def _exported(path: str) -> dict:
    with h5py.File(path) as stored:
        columns = {name: stored[name][()] for name in stored}
        columns["attrs"] = dict(stored.attrs)
    for name in ("trace_name", "split"):
        columns[name] = [value.decode() for value in columns[name]]
    return columns


@pytest.mark.parametrize("sbrl, normalisation", [(False, "peak"), (True, "clip")])
def test_export_holds_the_in_memory_training_set(bank, sbrl, normalisation):
    index = write_index(bank)
    ingest(bank)
    export_set(ExportRequest(index="set.txt", bank="bank.h5", out="set.h5", segment_length=LENGTH, sbrl=sbrl,
                             normalisation=normalisation, progress=False))
    exported = _exported("set.h5")

    segments = load_segments(index, LENGTH, progress=False)
    used = segments.used
    batch = labelled_batch(segments.segments, index.clip_fraction[used],
                           Representation(sbrl=sbrl, normalisation=normalisation))
    inputs, targets, status = batch.inputs, batch.targets, batch.status
    np.testing.assert_array_equal(exported["clipped"], inputs[..., 0])
    np.testing.assert_array_equal(exported["status"], status)
    np.testing.assert_array_equal(exported["target"], targets)
    np.testing.assert_array_equal(exported["istart"], index.istart[used])
    np.testing.assert_array_equal(exported["rscale"], index.clip_fraction[used])
    np.testing.assert_array_equal(exported["index_line"], index.line_numbers[used])
    assert exported["trace_name"] == [index.paths[p].split("/")[-1] for p in used]
    seed = default_seed(model_name("set", "def001", sbrl))
    expected_split = np.empty(len(used), dtype=object)
    for part, positions in split_positions(len(used), seed).items():
        expected_split[positions] = part
    assert exported["split"] == expected_split.tolist()
    attrs = exported["attrs"]
    assert attrs["seed"] == seed and attrs["index_sha256"] == index.sha256
    assert attrs["bank_sha256"] == sha256_file("bank.h5") and attrs["segment_length"] == LENGTH
    assert attrs["sbrl"] == sbrl and attrs["normalisation"] == normalisation
    assert json.loads(attrs["skipped"]) == dict(segments.skipped)


def test_export_command_takes_the_segment_length_from_the_selection_manifest(bank, run, tmp_path):
    code, _, err = run("select_training_samples.py", "--number_of_consecutive_samples", str(LENGTH),
                       "--number_of_training_segments", "80", "--output_file", "chosen_64_80.txt", "--seed", "3")
    assert code == 0, err
    ingest(bank)
    args = ("export", "chosen_64_80.txt", "--bank", "bank.h5", "--out", "chosen.h5", "--seed", "9", "--quiet")
    code, out, err = run("seisclip", *args)
    assert code == 0, err
    assert out.startswith("chosen.h5: 80 segments of 64 samples")
    exported = _exported(tmp_path / "chosen.h5")
    assert exported["attrs"]["seed"] == 9 and exported["attrs"]["seed_source"] == "given"
    assert exported["attrs"]["selection_manifest_sha256"] == sha256_file(tmp_path / "chosen_64_80.json")
    before = (tmp_path / "chosen.h5").read_bytes()
    code, _, err = run("seisclip", *args)
    assert code == 1 and "chosen.h5: exported set already exists" in err
    assert (tmp_path / "chosen.h5").read_bytes() == before

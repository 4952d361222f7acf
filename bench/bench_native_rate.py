"""Records restored at their own rate: the development set's records at another rate than the
model's, restored by the hybrid at the model's rate and given back at theirs, beside the same
windows resampled to 40 Hz.

    python bench/bench_native_rate.py [--model models/set00002_1024_20000_def004] [--records dev_records]
        [--native-records dev_records_native] [--clip-fractions 0.15 0.25 0.4 …] [--page docs/results/native_rate.md]

``--native-records`` is what ``bench/real_records.py --rate native --out dev_records_native``
cuts: the windows of ``--records``, at each trace's own rate. Its records at another rate than the
model's are taken (the development set's 100 Hz ones), each with its window at 40 Hz from
``--records``. Both are clipped at every ``--clip-fractions`` fraction of their own peak
(``ClippedSet.clip``, as ``evaluate`` clips) and restored through the Python API,
``seisclip.load_model(MODEL).restoration(stream, mask=...)``: all records of a level and rate in
one stream, their clipped samples given as the mask, so that both restore the same samples the
clipping changed.

Scores: the RMS error on the clipped samples ÷ the true peak (``rms_on_clipped``, as ``evaluate``
scores), the median over the records of a family and over those of each source file folder.
At the record's rate the truth is taken **low-passed to the model's band**, below 20 Hz for a
40 Hz model: to the model's rate and back by the resampling the restoration itself uses
(``scipy.signal.resample_poly``, whose Kaiser-windowed FIR filter cuts at the lower rate's
Nyquist frequency, with zero phase), which is the band a 40 Hz record holds; the 40 Hz record is
its own truth. Against the truth itself (``unfiltered``), the error includes the band above
20 Hz that no restoration at 40 Hz can give back.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from results_page import write_page
from seisclip.api.model import load_model
from seisclip.bank.ascii import read_waveform
from seisclip.evaluate.metrics import ClippedSet, rms_on_clipped
from seisclip.fsio import sha256_file
from seisclip.restore.seismic import resampled

METHOD = "hybrid"
#: 40 % and 70 %, the levels the hybrid's rules were chosen at, among others from shallow to deep.
CLIP_FRACTIONS = (0.15, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95)


def record_list(native_dir: Path, model_rate_hz: float) -> list[dict]:
    """The native records at another rate than the model's, from the native set's manifest."""
    manifest = json.loads((native_dir / "manifest.json").read_text())
    return [record for record in manifest["records"]
            if record.get("sampling_rate_hz") not in (None, model_rate_hz)]


def low_passed(truth: np.ndarray, rate_hz: float, model_rate_hz: float) -> np.ndarray:
    """``truth`` in the model's band: to its rate and back (see the module's text)."""
    down = resampled(truth, rate_hz, model_rate_hz, "truth")
    return resampled(down, model_rate_hz, rate_hz, "truth")[:truth.size]


def restored_at(model, truths: list[np.ndarray], rate_hz: float, fraction: float) -> tuple[list, list]:
    """Each truth clipped at ``fraction`` of its peak and restored at ``rate_hz``: (clipped sets, estimates)."""
    import obspy

    clipped = [ClippedSet.clip(truth[None, :], np.array([fraction])) for truth in truths]
    stream = obspy.Stream([obspy.Trace(one.values[0], header={"station": f"R{number}", "sampling_rate": rate_hz})
                           for number, one in enumerate(clipped)])
    result = model.restoration(stream, method=METHOD, mask=[one.status[0] != 0 for one in clipped])
    return clipped, [trace.restored for trace in result.traces]


def median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def measure(model, records: list[dict], records_dir: Path, native_dir: Path, fractions: list[float]) -> str:
    model_rate = model.sampling_rate_hz
    groups: dict[str, list[int]] = defaultdict(list)
    for number, record in enumerate(records):
        groups[record["family"]].append(number)
        groups[f"{record['family']}: {'/'.join(Path(record['file']).parts[:3])}"].append(number)
    native = [read_waveform(str(native_dir / record["record"]))[0].astype(np.float64) for record in records]
    at_model_rate = [read_waveform(str(records_dir / record["record"]))[0].astype(np.float64) for record in records]
    rates = sorted({record["sampling_rate_hz"] for record in records})
    lines = [f"{len(records)} records at {', '.join(f'{rate:g}' for rate in rates)} Hz, restored by {model.name} "
             f"{METHOD} (trained at {model_rate:g} Hz), and the same windows at {model_rate:g} Hz; the median over "
             "the records of the RMS error on the clipped samples ÷ the true peak:", "",
             f"| records | clipped at | records | at {model_rate:g} Hz: {METHOD} | at {model_rate:g} Hz: clipped "
             f"input | own rate: {METHOD}, truth below {model_rate / 2:g} Hz | ratio | own rate: {METHOD}, truth | "
             f"ratio | own rate: clipped input, truth | clipped samples whose truth below {model_rate / 2:g} Hz lies "
             "inside the clip level |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    over_levels: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for fraction in fractions:
        scores: dict[int, list[float]] = {}   # per record, each column's score
        sets, estimates = restored_at(model, at_model_rate, model_rate, fraction)
        for number, (truth, one, estimate) in enumerate(zip(at_model_rate, sets, estimates)):
            status, values = one.status[0], one.values[0]
            scores[number] = [rms_on_clipped(truth, estimate, status),
                              rms_on_clipped(truth, values, status)]
        for rate in rates:
            chosen = [number for number, record in enumerate(records) if record["sampling_rate_hz"] == rate]
            sets, estimates = restored_at(model, [native[number] for number in chosen], rate, fraction)
            for number, one, estimate in zip(chosen, sets, estimates):
                reference, truth = low_passed(native[number], rate, model_rate), native[number]
                status, values = one.status[0], one.values[0]
                # A clip-consistent estimate stays at or beyond the clip level: where the band-limited
                # truth lies inside it, no estimate can reach that truth.
                inside = ((status > 0) & (reference < values)) | ((status < 0) & (reference > values))
                scores[number] += [rms_on_clipped(reference, estimate, status),
                                   rms_on_clipped(truth, estimate, status),
                                   rms_on_clipped(truth, values, status),
                                   float(inside.sum() / max(np.count_nonzero(status), 1))]
        for name, members in groups.items():
            at_40, unrestored_40, band, whole, unrestored, inside = (
                median([scores[number][column] for number in members]) for column in range(6))
            over_levels[name].append((at_40, band, whole))
            lines.append(f"| {name} | {fraction * 100:g} % | {len(members)} | {at_40:.4f} | {unrestored_40:.4f} | "
                         f"{band:.4f} | {band / at_40:.3f} | {whole:.4f} | {whole / at_40:.3f} | {unrestored:.4f} | "
                         f"{inside:.0%} |")
    lines += ["", f"Over the clip levels {', '.join(f'{fraction * 100:g} %' for fraction in fractions)}, the mean "
              "of each family's medians:", "",
              f"| records | at {model_rate:g} Hz | own rate, truth below {model_rate / 2:g} Hz | ratio | own rate, "
              "truth | ratio |", "|---|---:|---:|---:|---:|---:|"]
    for name, medians in over_levels.items():
        at_40, band, whole = (float(np.mean([row[column] for row in medians])) for column in range(3))
        lines.append(f"| {name} | {at_40:.4f} | {band:.4f} | {band / at_40:.3f} | {whole:.4f} | {whole / at_40:.3f} |")
    lines += ["", f"ratio: the median at the record's own rate ÷ the median at {model_rate:g} Hz (below 1: restored "
              f"better than at the model's rate). Truth below {model_rate / 2:g} Hz: the record's truth taken to "
              f"{model_rate:g} Hz and back by scipy.signal.resample_poly, the band a {model_rate:g} Hz record holds."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/set00002_1024_20000_def004", help="model directory")
    parser.add_argument("--records", default="dev_records", help="the development set at 40 Hz")
    parser.add_argument("--native-records", default="dev_records_native",
                        help="the same windows at each trace's own rate (bench/real_records.py --rate native)")
    parser.add_argument("--clip-fractions", nargs="+", type=float, default=list(CLIP_FRACTIONS), metavar="FRACTION",
                        help="fractions of each record's peak to clip at (default %(default)s)")
    parser.add_argument("--page", default=None, help="write the table as a page, e.g. docs/results/native_rate.md")
    args = parser.parse_args()
    model = load_model(args.model)
    native_dir, records_dir = Path(args.native_records), Path(args.records)
    records = record_list(native_dir, model.sampling_rate_hz)
    body = measure(model, records, records_dir, native_dir, args.clip_fractions)
    print(body, end="")
    if args.page:
        manifests = {"development set": records_dir / "manifest.json",
                     "its windows at their own rate": native_dir / "manifest.json"}
        write_page(args.page, "Records restored at their own rate", body, [args.model],
                   records={f"{what} `{path}`": sha256_file(path) for what, path in manifests.items()})


if __name__ == "__main__":
    main()

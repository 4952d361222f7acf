"""The 5 %-damped PSA that ``evaluate`` scores: pyRotd's frequency-domain oscillator against an exact reference.

    .venv/bin/python bench/bench_psa.py [--records 4] [--seconds 200] [--rates 40 100] [--files 'dev_records/*/*']

On generated seismograms (seed 12, ``--records`` at each of ``--rates`` Hz, ``--seconds`` long)
and on the ``--files`` (records at the bank's 40 Hz, as ``evaluate`` reads them), each taken as
ground acceleration as ``evaluate`` takes it (a velocity record differentiated), the PSA at the
20 periods of ``seisclip.evaluate.spectra.PSA_PERIODS_S`` is computed three ways:

* **exact reference**: the record upsampled 16× (``scipy.signal.resample_poly``, band-limited),
  then the oscillator's equation of motion solved by ``scipy.signal.lsim``'s first-order hold
  (exact for a piecewise-linear input), applied as the equivalent recursion by
  ``scipy.signal.lfilter``; the bench checks the two agree on its first record and period;
* **naive**: the same time-domain recursion at the record's own rate (what a Nigam–Jennings
  code such as eqsig computes);
* **pyRotd** (``pseudo_spectral_acceleration``, what ``evaluate`` uses): one FFT of the
  zero-padded record, one inverse FFT per period extended to 5× the oscillator's frequency
  (pyRotd's recommended ``max_freq_ratio``); the same extended to 4× the record's rate as well,
  so that the response's high frequencies (a differentiated record's are strong) are sampled
  finely enough for its peak, at a higher cost; and pyRotd over the record without the zeros
  after it, whose circular convolution wraps the end of the response onto its beginning.

Every record is preceded by 1 s of zeros for all three (the oscillator starts at rest) and
followed by the zeros ``spectra.padding_samples`` adds. Prints, per rate and way, the largest
and the median |log10(PSA / PSA exact)| over every period and record and the seconds per record,
with ratios against the naive way measured in the same run. Last, on the last set, how far the
oversampling moves the metric itself: ``psa_error_log10`` of the spline's restorations at 40 %
and 70 % clipping, by ``evaluate``'s PSA against the finer one.
"""

from __future__ import annotations

import argparse
import glob
import time

import numpy as np
from pyrotd import calc_oscillator_resp   # imported before anything is timed
from scipy import signal

from seisclip.bank.records import ground_motion_of, read_records
from seisclip.bank.settings import DEFAULT_SAMPLING_RATE
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.evaluate.metrics import ClippedSet
from seisclip.evaluate.spectra import (OSCILLATOR_OVERSAMPLING, PSA_DAMPING, PSA_PERIODS_S, acceleration_of,
                                       padded_spectrum, padding_samples, pseudo_spectral_acceleration)
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import build_method

SEED = 12
UPSAMPLING = 16
LEAD_SECONDS = 1.0
#: The finer PSA's responses extend to this many times the record's rate.
FINER = 4


def oscillator_recursion(period_s: float, sampling_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """The recursion (b, a) of the oscillator's relative displacement x'' + 2ζωx' + ω²x = -a(t),
    discretised with a first-order hold at ``sampling_rate_hz``: lsim's own discretisation."""
    omega = 2 * np.pi / period_s
    numerator, denominator, _ = signal.cont2discrete(([-1.0], [1.0, 2 * PSA_DAMPING * omega, omega**2]),
                                                     1.0 / sampling_rate_hz, method="foh")
    return np.ravel(numerator), np.ravel(denominator)


def recursive_psa(acceleration: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """The PSA by the time-domain recursion at ``sampling_rate_hz``: ω² × the peak |displacement|."""
    return np.array([(2 * np.pi / period) ** 2
                     * np.abs(signal.lfilter(*oscillator_recursion(period, sampling_rate_hz), acceleration)).max()
                     for period in PSA_PERIODS_S])


def check_against_lsim(acceleration: np.ndarray, sampling_rate_hz: float) -> float:
    """The largest difference between lsim and the recursion on the first period, ÷ lsim's peak."""
    omega = 2 * np.pi / PSA_PERIODS_S[0]
    system = signal.StateSpace([[0.0, 1.0], [-omega**2, -2 * PSA_DAMPING * omega]], [[0.0], [-1.0]], [[1.0, 0.0]],
                               [[0.0]])
    _, displacement, _ = signal.lsim(system, acceleration, np.arange(acceleration.size) / sampling_rate_hz)
    recursion = signal.lfilter(*oscillator_recursion(PSA_PERIODS_S[0], sampling_rate_hz), acceleration)
    return float(np.abs(displacement - recursion).max() / np.abs(displacement).max())


def finer_psa(acceleration: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """pyRotd over the zero-padded record, each response extended to 4× the record's rate too."""
    frequencies, fourier = padded_spectrum(acceleration, sampling_rate_hz)
    return np.array([calc_oscillator_resp(frequencies, fourier, PSA_DAMPING, 1.0 / period, peak_resp_only=True,
                                          max_freq_ratio=max(OSCILLATOR_OVERSAMPLING, FINER * sampling_rate_hz * period),
                                          osc_type="psa") for period in PSA_PERIODS_S])


def unpadded_psa(acceleration: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """pyRotd over the record's own FFT, no zeros after it (an even length, as pyRotd takes)."""
    acceleration = acceleration[:acceleration.size - acceleration.size % 2]
    fourier = np.fft.rfft(acceleration)
    frequencies = np.fft.rfftfreq(acceleration.size, 1.0 / sampling_rate_hz)
    return np.array([calc_oscillator_resp(frequencies, fourier, PSA_DAMPING, 1.0 / period, peak_resp_only=True,
                                          osc_type="psa") for period in PSA_PERIODS_S])


def timed(function) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def record_sets(args) -> dict[str, tuple[float, list[tuple[np.ndarray, str]]]]:
    """Per set of records, its rate and its records with the ground motion each records: the
    generated ones (velocity, demeaned) at each rate, then the ``--files`` at the bank's rate."""
    rng = np.random.default_rng(SEED)
    sets = {}
    for rate in args.rates:
        velocities = [synthetic_seismogram(rng, int(args.seconds * rate), sampling_rate=rate).astype(np.float64)
                      for _ in range(args.records)]
        sets[f"{args.records} generated, {rate:g} Hz"] = (
            rate, [(velocity - velocity.mean(), "velocity") for velocity in velocities])
    paths = sorted({path for pattern in args.files for path in glob.glob(pattern) if not path.endswith(".json")})
    records = [(values, ground_motion_of(name)) for path in paths for name, values in read_records(path)]
    if records:
        sets[f"{len(records)} files, {DEFAULT_SAMPLING_RATE:g} Hz"] = (DEFAULT_SAMPLING_RATE, records)
    return sets


def metric_precision(rate: float, records: list[tuple[np.ndarray, str]]) -> str:
    """How far the sampling of the responses moves ``psa_error_log10`` itself: the spline's
    restorations of the records clipped at 40 % and 70 %, scored as ``evaluate`` scores them, by
    its PSA and by the finer one."""
    spline = build_method("spline")
    differences, errors = [], []
    for values, motion in records:
        for fraction in (0.4, 0.7):
            clipped = ClippedSet.clip(values[None, :], np.array([fraction]))
            record = ClippedRecord("record", clipped.values[0], clipped.status[0], clipped.clip_counts[0],
                                   -clipped.clip_counts[0])
            restored = acceleration_of(spline.restore(record).restored, motion, rate)
            truth = acceleration_of(values, motion, rate)
            scored = [np.median(np.abs(np.log10(psa(restored, rate) / psa(truth, rate))))
                      for psa in (pseudo_spectral_acceleration, finer_psa)]
            differences.append(abs(scored[0] - scored[1]))
            errors.append(scored[1])
    return (f"psa_error_log10 of the spline's restorations at 40 % and 70 % ({len(errors)} signals, median "
            f"{np.median(errors):.4f}), by evaluate's PSA against the finer one: median difference "
            f"{np.median(differences):.4f}, largest {np.max(differences):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[40.0, 100.0])
    parser.add_argument("--files", nargs="*", default=[],
                        help="record files or quoted globs at the bank's rate, e.g. 'dev_records/*/*'")
    args = parser.parse_args()
    print(f"Generated records of {args.seconds:g} s (seed {SEED}) and the files given, as ground acceleration; "
          f"PSA at {len(PSA_PERIODS_S)} periods {PSA_PERIODS_S[0]:g}-{PSA_PERIODS_S[-1]:g} s, "
          f"{PSA_DAMPING:.0%} damping\n")
    print("| records | way | largest abs log10 error | median abs log10 error | s per record | error ÷ naive's | "
          "time ÷ naive's |")
    print("|---|---|---:|---:|---:|---:|---:|")
    naive = "naive (recursion at the record's rate)"
    checks = []
    sets = record_sets(args)
    for label, (rate, records) in sets.items():
        ways: dict[str, list[np.ndarray]] = {}
        seconds: dict[str, float] = {}
        for number, (values, motion) in enumerate(records):
            record = acceleration_of(values, motion, rate)
            lead = np.zeros(int(LEAD_SECONDS * rate))
            started = np.concatenate([lead, record])
            padded = np.concatenate([started, np.zeros(padding_samples(rate))])
            fine = signal.resample_poly(padded, UPSAMPLING, 1)
            if number == 0:
                checks.append((label, check_against_lsim(fine, rate * UPSAMPLING)))
            exact = recursive_psa(fine, rate * UPSAMPLING)
            for way, function in {
                    naive: lambda: recursive_psa(padded, rate),
                    f"pyRotd, {OSCILLATOR_OVERSAMPLING:g}× the oscillator, zero-padded (evaluate)":
                        lambda: pseudo_spectral_acceleration(started, rate),
                    f"pyRotd, {OSCILLATOR_OVERSAMPLING:g}× the oscillator and {FINER}× the record's rate, zero-padded":
                        lambda: finer_psa(started, rate),
                    f"pyRotd, {OSCILLATOR_OVERSAMPLING:g}× the oscillator, not padded":
                        lambda: unpadded_psa(started, rate)}.items():
                psa, spent = timed(function)
                ways.setdefault(way, []).append(np.abs(np.log10(psa / exact)))
                seconds[way] = seconds.get(way, 0.0) + spent
        worst = {way: float(np.max(errors)) for way, errors in ways.items()}
        for way, errors in ways.items():
            print(f"| {label} | {way} | {worst[way]:.3f} | {float(np.median(errors)):.4f} | "
                  f"{seconds[way] / len(records):.3f} | {worst[way] / worst[naive]:.2f} | "
                  f"{seconds[way] / seconds[naive]:.1f} |")
    print("\nThe reference's recursion against scipy.signal.lsim on each set's first record, period "
          f"{PSA_PERIODS_S[0]:g} s (largest difference ÷ peak): "
          + ", ".join(f"{label} {difference:.1e}" for label, difference in checks))
    label, (rate, records) = list(sets.items())[-1]
    print(f"\nOn {label}: " + metric_precision(rate, records))


if __name__ == "__main__":
    main()

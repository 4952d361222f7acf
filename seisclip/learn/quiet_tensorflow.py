"""TensorFlow and Keras, imported without the start-up notices TensorFlow writes to stderr.

Importing TensorFlow prints, straight to file descriptor 2 and before its logging reads
``TF_CPP_MIN_LOG_LEVEL``, an absl banner and INFO lines such as "oneDNN custom operations are
on" (on CPUs where oneDNN is on by default, or with ``TF_ENABLE_ONEDNN_OPTS=1``). They would open
every error message of a training run or ``seisclip restore --model``. So the import runs with
descriptor 2 captured; the INFO records and the banner are dropped and everything else (warnings,
errors, Python's own output) is written on.

oneDNN is turned on (``TF_ENABLE_ONEDNN_OPTS=1``) unless the user set that variable: TensorFlow
turns it on by itself on Linux only on CPUs with VNNI, AVX-512 BF16 or AMX, and elsewhere (an AVX2-only
2-core EPYC) a def004 training step took 2.6 to 2.9 times as long without it, faulting in 170,000
fresh pages a step (bench/bench_train_step_cpu.py). Training records the setting in its manifest.

Every module of seisclip that needs TensorFlow or Keras takes them from here, and a definition
script imports seisclip before ``keras``, so the notices never reach the user.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

#: absl's line prefix: severity letter, MMDD, time, thread id, file:line].
_ABSL_RECORD = re.compile(r"[IWEF]\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] ")
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
#: cpu_feature_guard's INFO record continues on a second line of its own.
_INFO_CONTINUATION = re.compile(r"To enable the following instructions: ")


def without_start_up_notices(text: str) -> str:
    """``text`` less absl's banner and its INFO records (with their continuation lines)."""
    kept, in_info_record = [], False
    for line in text.splitlines(keepends=True):
        if _ABSL_RECORD.match(line):
            in_info_record = line.startswith("I")
        elif line.rstrip("\n") == _ABSL_BANNER:
            in_info_record = True
            continue
        elif not (in_info_record and _INFO_CONTINUATION.match(line)):
            in_info_record = False
        if not in_info_record:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def start_up_notices_dropped() -> Iterator[None]:
    """Capture file descriptor 2 while the block runs, then write it on without the notices."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            sys.stderr.write(without_start_up_notices(captured.read().decode(errors="replace")))
            sys.stderr.flush()


#: The environment variables, read by TensorFlow when it loads, that change how it computes on the CPU.
CPU_SETTINGS = ("TF_ENABLE_ONEDNN_OPTS",)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# TensorFlow's later INFO lines (after absl is initialised) obey this; warnings still pass.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
try:
    with start_up_notices_dropped():
        import keras
        import tensorflow as tf
except ImportError as exc:
    raise SystemExit(f"seisclip: error: TensorFlow is missing ({exc}); training and restoring with a model need "
                     "it: pip install 'seisclip[cpu]' (or '[gpu]' for NVIDIA GPUs)") from None

__all__ = ["CPU_SETTINGS", "keras", "tf", "start_up_notices_dropped", "without_start_up_notices"]

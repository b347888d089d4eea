"""Where a test stops a run at a known point, on any machine, instead of racing a timer: the
environment of a training process may ask it to die (SIGKILL) or to wait for a signal right after
its k-th checkpoint. Unset (every real run), nothing happens."""

from __future__ import annotations

import os
import signal

# SIGKILL this process right after the k-th checkpoint it writes (a kill-and-resume test)
KILL_AFTER_CHECKPOINT = "PAPER_LENET_TEST_KILL_AFTER_CHECKPOINT"
# wait right after the k-th checkpoint for a signal (the Ctrl-C a sweep test sends): runs surely mid-way
HOLD_AFTER_CHECKPOINT = "PAPER_LENET_TEST_HOLD_AFTER_CHECKPOINT"


def checkpoint_written(k: int) -> None:
    """Called by a training process after its k-th checkpoint (k = 1, 2, ...)."""
    if k == int(os.environ.get(KILL_AFTER_CHECKPOINT, 0)):
        os.kill(os.getpid(), signal.SIGKILL)
    if k == int(os.environ.get(HOLD_AFTER_CHECKPOINT, 0)):
        signal.pause()

"""How a command stops on a signal: SIGINT (Ctrl-C), SIGTERM (what schedulers such as Slurm,
Kubernetes and systemd send before SIGKILL) and SIGHUP (a closed terminal) all end it as Ctrl-C does,
through a KeyboardInterrupt (`Stopped`), so a run's files stay whole and it resumes; the command
exits with 128 + the signal's number (130, 143, 129).

    with stop_on_signals():   # train: any of them raises Stopped where the run is
        ...
    exit_code(e)              # 128 + e.signum (a plain KeyboardInterrupt: SIGINT's 130)

A command started with a signal ignored (a shell's background job, `cmd &`, ignores SIGINT) stops on
it all the same: the handlers replace the inherited SIG_IGN.
"""

from __future__ import annotations

import contextlib
import signal
import threading

STOP_SIGNALS = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s))


class Stopped(KeyboardInterrupt):
    """A stop signal, raised as Ctrl-C's KeyboardInterrupt is; `signum` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame):
    raise Stopped(signum)


@contextlib.contextmanager
def handling(handler):
    """`handler` for every stop signal inside the block, the previous handlers after it (only in the
    main thread, the one place Python lets a handler be set; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def stop_on_signals():
    """Every stop signal raises Stopped(signum) inside the block."""
    return handling(_raise)


def exit_code(e: KeyboardInterrupt) -> int:
    return 128 + getattr(e, "signum", signal.SIGINT)


def stop_message(e: KeyboardInterrupt) -> str:
    """ "interrupted" (Ctrl-C) or 'stopped by SIGTERM' / 'stopped by SIGHUP'."""
    signum = getattr(e, "signum", signal.SIGINT)
    return "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"

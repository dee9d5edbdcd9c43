"""Worker processes that die with their parent: a batch job killed with `kill -9` must not
leave its ~1 GB workers running (re-parented to PID 1, and more of them on every retry)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_SECONDS = 1.0


def die_with_parent(parent: int) -> None:
    """Make this process exit when process `parent` (the one that started it) is gone.

    Linux: the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG). Elsewhere
    a daemon thread checks the parent once a second. Called first thing in a worker.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before the call: nobody will signal
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(parent,), name="custtype-lifeline", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(1)

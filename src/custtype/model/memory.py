"""Garbage-collector settings for a long-running scoring process."""

from __future__ import annotations

import gc


def freeze_memory(young_objects: int = 10_000) -> None:
    """For a long-running process, once its model is loaded: collect, move every live object
    out of the cyclic collector's reach, and collect less often.

    The model is millions of long-lived objects; every full collection re-scans them, which
    costs about a fifth of scoring time. Frozen objects are still freed by refcounting, only
    reference cycles among them are never collected: call it once per process (the API,
    batch and Dask workers do), not after every load. Measured: ~250 ms of collection per
    3,000 messages down to ~70 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_objects, 50, 1000)

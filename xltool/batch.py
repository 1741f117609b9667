"""How a long batch (a thousand workbooks written or read) runs Python's cycle collector.

Writing or reading a workbook makes tens of thousands of short-lived objects, nearly
all freed at once by reference counting. At Python's default threshold the cycle
collector runs hundreds of times in a batch, and now and then walks every object the
process holds (the ledger, pandas and all). Measured: 2.4 ms of a 13 ms template, some
20 to 60 µs of a 4 ms return. So while a batch runs, what exists before it is set aside
(frozen) and the youngest generation is collected every `FEW_COLLECTIONS` objects
instead of every 700; both are restored afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FEW_COLLECTIONS = 10_000
"""Objects made between two runs of the cycle collector's youngest generation (Python: 700)."""


@contextmanager
def few_collections() -> Iterator[None]:
    """The collector set for a batch while the block runs, restored afterwards."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], FEW_COLLECTIONS), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def few_collections_for_life() -> None:
    """The same for a worker process, which runs batch work until it ends."""
    gc.freeze()
    gc.set_threshold(max(gc.get_threshold()[0], FEW_COLLECTIONS), *gc.get_threshold()[1:])

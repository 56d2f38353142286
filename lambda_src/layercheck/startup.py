"""The function's start: loading modules with Python's cyclic garbage collector paused, then freezing what they built.

Importing boto3, Pydantic, Powertools and our models allocates a few hundred thousand objects, and CPython runs its
cyclic collector every 700 allocations net: on a cold start that is hundreds of young collections and a couple of full
ones (about 30 ms on two cores), and they find next to nothing to free, because modules, classes, and clients live as
long as the container. Paused while a module loads, the collector does none of that work; ``gc.freeze()`` then moves
everything loaded so far out of the collector's reach, so later collections (during invocations) do not scan it again
either. Only code that runs once per container uses it (the handler's import, a door's first import): an invocation's
own garbage is collected as usual. https://docs.python.org/3/library/gc.html#gc.freeze
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then freeze what exists and put the collector back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()

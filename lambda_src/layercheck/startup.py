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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


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


class part(Generic[T]):  # noqa: N801 (a decorator, named as functools.cached_property is)
    """A part of the composition root's ``Services``, which lives as long as the container: made on first use, then
    kept in the instance. Made under a lock (a part two threads ask for at once is made once: two rate limiters for
    one registry would double its ceiling) and with the collector paused."""

    def __init__(self, make: Callable[[Any], T]) -> None:
        self._make = make
        self._name = make.__name__
        self.__doc__ = make.__doc__
        self._lock = threading.RLock()  # re-entrant: one part's making may ask for another

    @overload
    def __get__(self, instance: None, owner: type) -> part[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> part[T] | T:
        if instance is None:
            return self
        with self._lock, collector_paused():  # only the first use: then the instance's own value is read first
            kept = vars(instance)
            if self._name not in kept:
                kept[self._name] = self._make(instance)
            made: T = kept[self._name]
            return made

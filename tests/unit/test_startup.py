"""Modules load with the cyclic collector paused, and what they built is frozen out of its reach; the collector comes
back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from layercheck.startup import collector_paused


@pytest.fixture
def collector_restored() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()


@pytest.mark.usefixtures("collector_restored")
def test_the_collector_is_off_inside_and_back_on_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_restored")
def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_restored")
def test_what_was_built_inside_is_frozen() -> None:
    gc.unfreeze()
    with collector_paused():
        built = [[index] for index in range(1000)]
    assert gc.get_freeze_count() >= len(built)


@pytest.mark.usefixtures("collector_restored")
def test_an_error_inside_still_puts_the_collector_back() -> None:
    gc.enable()
    with pytest.raises(ImportError), collector_paused():
        raise ImportError("a door that cannot load")
    assert gc.isenabled()

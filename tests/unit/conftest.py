"""Unit tests: pure logic and models. The network is off, so nothing here can reach AWS or a local server."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """pytest-socket's fixture: any socket a unit test opens raises SocketBlockedError."""

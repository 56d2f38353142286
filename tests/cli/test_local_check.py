"""How the several-repository check runs here: on the lean request path for a client it reproduces (the botocore
client otherwise), with the cyclic garbage collector paused while the answer is built."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest

from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecr_lean import LeanEcrLayerCheck
from layercheck_cli import multi
from layercheck_cli.main import EXIT_OK, main
from layercheck_cli.session import ConnectionOptions, make_session
from tests.cli.conftest import Registry


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("retry_mode", "port_class"),
    [(None, LeanEcrLayerCheck), ("standard", LeanEcrLayerCheck), ("legacy", EcrRegistry), ("adaptive", EcrRegistry)],
)
def test_layer_check_port_is_lean_for_standard_retries_and_the_client_otherwise(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, retry_mode: str | None, port_class: type
) -> None:
    """Standard mode is botocore's default; a user's AWS_RETRY_MODE=legacy|adaptive keeps the client as configured."""
    if retry_mode is not None:
        monkeypatch.setenv("AWS_RETRY_MODE", retry_mode)
    options = ConnectionOptions(endpoint_url=registry.endpoint_url)
    session = make_session(options)
    client = multi.layer_check_client(session, options, workers=4)

    port = multi.layer_check_port(session, options, client, max_calls_per_second=10)

    assert type(port) is port_class


@pytest.mark.usefixtures("env")
def test_check_builds_its_answer_with_the_cyclic_collector_paused_then_restores_it(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[bool] = []
    real_check = multi.check_repositories

    def check(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_check(*args, **kwargs)

    monkeypatch.setattr(multi, "check_repositories", check)
    d1, _ = registry.digests

    code = main(
        ["batch-check-layer-availability", "--endpoint-url", registry.endpoint_url, "--repository-names", "app", "base",
         "--layer-digests", d1, "--query", "summary"]
    )  # fmt: skip

    assert code == EXIT_OK and json.loads(capsys.readouterr().out)["checked"] == 2
    assert seen == [False]
    assert gc.isenabled()


def test_collector_paused_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    try:
        with multi.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()

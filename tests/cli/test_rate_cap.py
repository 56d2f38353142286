"""``--max-calls-per-second``: the several-repository check's ECR calls go through one rate limiter, at the cap asked
(``--max-calls-per-second``, else ``LAYERCHECK_MAX_CALLS_PER_SECOND``, else 500: half of ECR's 1,000 calls/s per account
and Region, which every ``docker push`` shares)."""

from __future__ import annotations

import json

import pytest

from layercheck.logic.ratelimit import RateLimiter
from layercheck_cli import multi
from layercheck_cli.errors import UsageError
from layercheck_cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from tests.cli.conftest import Registry


class RecordingLimiter(RateLimiter):
    """The real limiter, remembering the rate it was made with and the tokens taken."""

    made: list[RecordingLimiter] = []  # noqa: RUF012 (one list per test, reset by the fixture)

    def __init__(self, calls_per_second: float) -> None:
        super().__init__(calls_per_second)
        self.rate = calls_per_second
        self.tokens = 0
        RecordingLimiter.made.append(self)

    def acquire(self) -> float:
        self.tokens += 1
        return super().acquire()


@pytest.fixture
def recording_limiter(monkeypatch: pytest.MonkeyPatch) -> type[RecordingLimiter]:
    RecordingLimiter.made = []
    monkeypatch.setattr(multi, "RateLimiter", RecordingLimiter)
    return RecordingLimiter


def check(registry: Registry, *args: str) -> int:
    d1, d2 = registry.digests
    argv = ["batch-check-layer-availability", "--endpoint-url", registry.endpoint_url, "--registry-id", "123456789012"]
    return main([*argv, "--repository-names", "app", "base", "nope", "--layer-digests", d1, d2, *args])


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("args", "environment", "rate"),
    [
        ((), {}, 500.0),
        (("--max-calls-per-second", "40"), {}, 40.0),
        ((), {multi.MAX_CALLS_PER_SECOND_VARIABLE: "7.5"}, 7.5),
    ],
    ids=["default", "option", "environment"],
)
def test_several_repositories_take_one_token_per_ecr_call_from_one_limiter_at_the_cap(
    registry: Registry,
    recording_limiter: type[RecordingLimiter],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    environment: dict[str, str],
    rate: float,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    code = check(registry, *args, "--query", "summary")

    assert code == EXIT_ERROR  # the missing repository was not checked (its error is in the answer)
    assert json.loads(capsys.readouterr().out)["checked"] == 6
    [limiter] = recording_limiter.made
    assert limiter.rate == rate
    assert limiter.tokens == 3  # one call per repository (two digests each), the missing repository's included


def test_option_wins_over_the_environment_which_wins_over_the_default() -> None:
    variable = multi.MAX_CALLS_PER_SECOND_VARIABLE

    assert multi.max_calls_per_second(None, {}) == multi.DEFAULT_MAX_CALLS_PER_SECOND == 500
    assert multi.max_calls_per_second(None, {variable: "250"}) == 250
    assert multi.max_calls_per_second(900, {variable: "250"}) == 900


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [(0.0, None, "--max-calls-per-second"), (-3.0, None, "--max-calls-per-second"), (None, "fast", "LAYERCHECK_"),
     (None, "0", "LAYERCHECK_"), (None, "inf", "LAYERCHECK_")],
    ids=["zero", "negative", "not-a-number", "zero-from-environment", "infinite"],
)  # fmt: skip
def test_a_cap_that_is_not_a_positive_number_is_refused_naming_where_it_came_from(
    option: float | None, value: str | None, named: str
) -> None:
    environment = {multi.MAX_CALLS_PER_SECOND_VARIABLE: value} if value is not None else {}

    with pytest.raises(UsageError) as refused:
        multi.max_calls_per_second(option, environment)

    assert named in str(refused.value) and "positive number" in str(refused.value)


@pytest.mark.usefixtures("env")
def test_a_refused_cap_is_a_usage_error_before_any_call(
    registry: Registry, recording_limiter: type[RecordingLimiter], capsys: pytest.CaptureFixture[str]
) -> None:
    code = check(registry, "--max-calls-per-second", "0")

    assert code == EXIT_USAGE
    assert "--max-calls-per-second must be a positive number" in capsys.readouterr().err
    assert recording_limiter.made == []


def test_help_names_the_cap_its_default_and_its_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "240")

    assert main(["batch-check-layer-availability", "--help"]) == EXIT_OK

    text = " ".join(capsys.readouterr().out.split())
    assert "--max-calls-per-second" in text
    assert "LAYERCHECK_MAX_CALLS_PER_SECOND, else 500" in text

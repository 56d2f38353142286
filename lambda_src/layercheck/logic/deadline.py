"""The API's time budget: API Gateway gives up on the integration after 29 s, and the function would run on for a
caller who is gone. The deadline is read off the Lambda context's own clock (``get_remaining_time_in_millis``), so a
test drives it with a fake context and no sleeping.
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (integration timeout)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Kept back from the budget for what follows the last ECR call: storing the verdicts and writing the answer.
ANSWER_RESERVE_MS = 2_000


@dataclass(frozen=True)
class Deadline:
    remaining_ms: Callable[[], int]
    stop_at_remaining_ms: int

    @classmethod
    def starting_now(cls, remaining_ms: Callable[[], int], budget_seconds: float) -> Deadline:
        """No new work after ``budget_seconds``, nor later than ``ANSWER_RESERVE_MS`` before the function times out."""
        at_start = remaining_ms()
        budget_ms = min(int(budget_seconds * 1000), at_start - ANSWER_RESERVE_MS)
        return cls(remaining_ms, at_start - budget_ms)

    def has_time(self) -> bool:
        return self.remaining_ms() > self.stop_at_remaining_ms

    def seconds_left(self) -> float:
        """How long new work may still take (0 or less: none)."""
        return (self.remaining_ms() - self.stop_at_remaining_ms) / 1000

"""docs/BENCHMARKS.md's section on the cold start to the first stored answer, and where its time goes."""

from __future__ import annotations

from typing import Any

from bench.first_answer import BARE, HANDLER, FirstAnswer
from bench.markdown import table as _table


def _profiled(result: FirstAnswer, prefix: str) -> str:
    found = [s.milliseconds for s in result.suspects if s.name.startswith(prefix) and s.milliseconds is not None]
    if not found:
        return "not seen on this path"
    milliseconds = sum(found)
    return f"{milliseconds:.0f} ms profiled, {milliseconds / result.profiled_ms:.0%}"


def _findings(result: FirstAnswer) -> str:
    handler, bare = result.phases[HANDLER], result.phases[BARE]
    loaded = ", ".join(f"`{name}` {'loaded' if value else 'not loaded'}" for name, value in result.loaded.items())
    return f"""- The handler's import ({handler.import_ms:.0f} ms, the script's {bare.import_ms:.0f} ms) holds boto3
  (its default session reads botocore's ECR model once, for the runtime check and the ECR client alike), Pydantic,
  Powertools' Logger and Metrics, and the layer-verdict models; it runs with the cyclic garbage collector paused and
  frozen afterwards (`layercheck/startup.py`), as does each door's first import.
- The set-up ({handler.setup_ms:.0f} ms, the script's {bare.setup_ms:.0f} ms) is the light `POST /checks` door
  ({_profiled(result, "the light POST")}) and the two clients ({_profiled(result, "botocore clients")}; the script
  creates the same two). Every import during set-up and answer: {_profiled(result, "every import")}; Pydantic model
  classes built: {_profiled(result, "Pydantic")}; regular expressions compiled: {_profiled(result, "regular")}.
- Not on this path: the REST resolver ({_profiled(result, "the REST resolver")}), Powertools' Event Handler
  ({_profiled(result, "Powertools' Event")}) and its OpenAPI models ({_profiled(result, "Powertools' OpenAPI")}). What
  the handler's process had loaded by its first answer: {loaded}.
- The request through the light door ({_profiled(result, "the request")}) holds the clients and the handler's own
  work; the first-answer phase ({handler.answer_ms:.0f} ms against {bare.answer_ms:.0f} ms) is the two AWS calls."""


def _ratio_row(handler: Any, bare: Any) -> list[str]:
    """The handler's phases over the bare script's, each as a ratio."""
    pairs = (
        (handler.import_ms, bare.import_ms),
        (handler.setup_ms, bare.setup_ms),
        (handler.answer_ms, bare.answer_ms),
        (handler.inside_ms, bare.inside_ms),
        (handler.process_ms, bare.process_ms),
    )
    return ["handler ÷ bare script"] + [f"{h / b:.2f}×" if b else "—" for h, b in pairs]


def first_answer(result: FirstAnswer) -> str:
    """docs/BENCHMARKS.md: the three phases side by side, then where the handler's time goes."""
    handler, bare = result.phases[HANDLER], result.phases[BARE]
    rows = [
        [
            name,
            f"{p.import_ms:.0f}",
            f"{p.setup_ms:.0f}",
            f"{p.answer_ms:.0f}",
            f"{p.inside_ms:.0f}",
            f"{p.process_ms:.0f}",
        ]
        for name, p in result.phases.items()
    ]
    rows.append(_ratio_row(handler, bare))
    suspects = [
        [s.name, f"`{s.function}`", "—" if s.milliseconds is None else f"{s.milliseconds:.0f}",
         "—" if s.milliseconds is None else f"{s.milliseconds / result.profiled_ms:.0%}"]
        for s in result.suspects
    ]  # fmt: skip
    extra = handler.inside_ms - bare.inside_ms
    return f"""## 3. Cold start to the first stored answer (fresh processes, the same moto server)

One `POST /checks` of 3 digests in one repository (`BatchCheckLayerAvailability`, then one `BatchWriteItem` of the 3
verdicts), answered by the handler in a fresh process, beside a bare boto3 script in a fresh process making the same two
calls with the same items. Phases timed inside each process: **import** (`import layercheck.handler`, or
`import boto3`), **set-up** (from there to the first AWS request leaving: the handler's light `POST /checks` door,
validation and clients; the script's two clients), **first answer** (from that request to the stored answer).
Median of {result.runs} runs each, round-robin, the first run of each discarded (warm byte-code cache); 1-minute load
average {result.load_average[0]:.2f} before, {result.load_average[1]:.2f} after.

{_table(["fresh process", "import ms", "set-up ms", "first answer ms", "in-process ms", "whole process ms"], rows)}

- **Cold start to the first answer: the handler takes {result.ratio:.2f}× the bare script** in-process
  ({handler.inside_ms:.0f} ms against {bare.inside_ms:.0f} ms; whole processes {result.process_ratio:.2f}×); the
  goal is ≤ 1.35×. The handler's extra {extra:.0f} ms: {handler.import_ms - bare.import_ms:+.0f} ms of import,
  {handler.setup_ms - bare.setup_ms:+.0f} ms of set-up, {handler.answer_ms - bare.answer_ms:+.0f} ms of first answer.

### Where a cold start's time goes

The handler once more in a fresh process, under cProfile from the end of its import to its answer
({result.profiled_ms:.0f} ms profiled; cProfile inflates pure-Python work, so read shares, not milliseconds). Each row
is the inclusive time of one function; rows overlap (a Pydantic model built while a module is imported counts in both;
the door's module holds most of the imports); "—" is a function that did not run on this path. `python -X importtime`
of the same imports is in section 3b below.

{_table(["suspect", "function", "ms (profiled)", "share"], suspects)}

{_findings(result)}"""

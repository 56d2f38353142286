"""Cold start to the first stored answer: the handler beside a bare boto3 script making the same calls, in fresh
processes against the same moto server.

One ``POST /checks`` of 3 digests in one repository makes two AWS calls: ``BatchCheckLayerAvailability`` and one
``BatchWriteItem`` of 3 items. The bare script makes exactly those (the same request, the same items) on two boto3
clients. Each run is a fresh ``python -c`` process, timed in three phases, from inside:

- import: the handler module (``import layercheck.handler``), or ``import boto3``;
- set-up: from there to the first request leaving (botocore's ``URLLib3Session.send``, timed in the child): for the
  handler, the event's door (the light ``POST /checks`` door), validation and the clients; for the script, its two
  clients;
- first answer: from the first request to the stored answer (the handler's response; the script's write returning).

The variants run round-robin (each repeat runs both once, so a change in the machine's load weighs on both alike), the
first run of each is discarded (byte-code and page caches warm), and the median of each phase is kept. Byte-code caches
are warm: the Lambda asset ships without ``.pyc`` files, so a real cold start also compiles our modules.

``profile`` then runs the handler once more under cProfile, from the end of its import to its answer, and reads the
inclusive time of the functions that stand for each suspect (the door, Pydantic model building, imports, clients, and
the Event Handler and OpenAPI modules a check must not load): docs/BENCHMARKS.md's "where a cold start's time goes".
"""

from __future__ import annotations

import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HANDLER = "handler (import layercheck.handler, one POST /checks)"
BARE = "bare boto3 script (the same two calls)"

# The child's frame: phase marks around the variant's two blocks, the first send timed by wrapping botocore's
# URLLib3Session.send (installed after the import phase, so that it costs the import nothing).
_CHILD = """
import time
_started = time.perf_counter()
{imports}
_imported = time.perf_counter()
import json, sys
import botocore.httpsession
_sends = []
_send = botocore.httpsession.URLLib3Session.send
def _timed_send(self, request):
    _sends.append(time.perf_counter())
    return _send(self, request)
botocore.httpsession.URLLib3Session.send = _timed_send
_request = json.loads(sys.stdin.read())
{profile_start}
{answer}
{profile_stop}
_answered = time.perf_counter()
print(json.dumps({{"import": _imported - _started, "setup": _sends[0] - _imported, "answer": _answered - _sends[0],
                   "sends": len(_sends), "modules": sorted(sys.modules)}}))
"""

_HANDLER_ANSWER = """
from local.lambda_context import FakeLambdaContext
_response = lambda_handler(_request["event"], FakeLambdaContext())
assert _response["statusCode"] == 200, _response
"""

_BARE_ANSWER = """
_ecr = boto3.client("ecr")
_dynamodb = boto3.client("dynamodb")
_ecr.batch_check_layer_availability(**_request["check"])
_unprocessed = _dynamodb.batch_write_item(RequestItems=_request["write"])["UnprocessedItems"]
assert not _unprocessed, _unprocessed
"""

VARIANTS = {
    HANDLER: ("from layercheck.handler import lambda_handler", _HANDLER_ANSWER),
    BARE: ("import boto3", _BARE_ANSWER),
}


@dataclass(frozen=True)
class Phases:
    import_ms: float
    setup_ms: float
    answer_ms: float
    process_ms: float  # the whole process, interpreter start-up included, timed from outside

    @property
    def inside_ms(self) -> float:
        return self.import_ms + self.setup_ms + self.answer_ms


@dataclass(frozen=True)
class Suspect:
    name: str
    function: str  # the function whose inclusive time stands for it
    milliseconds: float | None  # None when the function did not run (renamed, or not on this path)


@dataclass(frozen=True)
class FirstAnswer:
    phases: dict[str, Phases]
    runs: int
    load_average: tuple[float, float]
    profiled_ms: float
    suspects: list[Suspect]
    # Modules a check has no use for, and whether the handler's process loaded them by its first answer.
    loaded: dict[str, bool]

    @property
    def ratio(self) -> float:
        return self.phases[HANDLER].inside_ms / self.phases[BARE].inside_ms

    @property
    def process_ratio(self) -> float:
        return self.phases[HANDLER].process_ms / self.phases[BARE].process_ms


def request(repository: str, digests: list[str], registry_id: str, table: str, region: str) -> dict[str, Any]:
    """What each child is handed: the handler's API Gateway event, and the script's two calls with the handler's
    own items for the same answer (built here, by the function's code, so the write is the same size)."""
    import boto3

    from layercheck.integrations.results_table import to_dynamodb
    from layercheck.models.stored import Source, layer_verdicts, utc_now
    from layercheck.models.verdicts import RepositoryResult, layer_answers, layer_failures
    from local.adapter import proxy_event

    check = {"registryId": registry_id, "repositoryName": repository, "layerDigests": digests}
    body = json.dumps({"repositoryNames": [repository], "layerDigests": digests}).encode()
    answer = boto3.client("ecr").batch_check_layer_availability(**check)
    result = RepositoryResult(
        registryId=registry_id,
        repositoryName=repository,
        layers=layer_answers(answer.get("layers", [])),
        failures=layer_failures(answer.get("failures", [])),
    )
    verdicts = layer_verdicts(
        [result], source=Source.API, checked_at=utc_now(), ttl_days=30, region=region, check_id="first-answer"
    )
    return {
        "event": proxy_event("POST", "/checks", [("Content-Type", "application/json")], body),
        "check": check,
        "write": {table: [{"PutRequest": {"Item": to_dynamodb(verdict)}} for verdict in verdicts]},
    }


def _script(name: str, *, profile_to: str | None = None) -> str:
    imports, answer = VARIANTS[name]
    start = "import cProfile\n_profile = cProfile.Profile()\n_profile.enable()" if profile_to else ""
    stop = f"_profile.disable()\n_profile.dump_stats({profile_to!r})" if profile_to else ""
    return _CHILD.format(imports=imports, answer=answer, profile_start=start, profile_stop=stop)


def _run(name: str, document: str, environment: dict[str, str], *, profile_to: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    completed = subprocess.run(
        [PYTHON, "-c", _script(name, profile_to=profile_to)],
        input=document,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=environment,
    )
    timing: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if timing["sends"] != 2:
        raise RuntimeError(f"{name} made {timing['sends']} AWS requests, not the two of a POST /checks")
    timing["process"] = time.perf_counter() - started
    return timing


def measure(request_document: dict[str, Any], environment: dict[str, str], repeats: int = 11) -> FirstAnswer:
    """``environment``: the function's (``lambda_environment``), pointed at the moto server holding the repository."""
    document = json.dumps(request_document)
    child_environment = {**os.environ, **environment, "PYTHONPATH": f"lambda_src{os.pathsep}."}
    child_environment.pop("PYTHONDONTWRITEBYTECODE", None)
    load_before = os.getloadavg()[0]
    for name in VARIANTS:
        _run(name, document, child_environment)  # discarded: warms the byte-code and page caches
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    for _ in range(repeats):
        for name in VARIANTS:
            samples[name].append(_run(name, document, child_environment))
    phases = {
        name: Phases(
            *(statistics.median(run[key] for run in runs) * 1000 for key in ("import", "setup", "answer", "process"))
        )
        for name, runs in samples.items()
    }
    profiled_ms, suspects = profile(document, child_environment)
    load = (load_before, os.getloadavg()[0])
    modules = set(samples[HANDLER][-1]["modules"])
    loaded = {name: name in modules for name in NOT_FOR_A_CHECK}
    return FirstAnswer(phases, repeats, load, profiled_ms, suspects, loaded)


# What the REST resolver, the OpenAPI document and the image routes need, and a check does not.
NOT_FOR_A_CHECK = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.models",
    "layercheck.doors.api",
    "layercheck.doors.images_api",
    "layercheck.logic.images",
    "layercheck.models.audit",
)


# Where the handler's set-up and first answer could go, each read as the inclusive time of one function. They
# overlap: a Pydantic model built while a module is imported counts under both.
SUSPECTS = (
    ("every import during set-up and answer", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("the light POST /checks door's module, imported by the first event", "layercheck/doors/checks.py", "<module>"),
    ("the REST resolver's module (every other route's door)", "layercheck/doors/api.py", "<module>"),
    ("Powertools' Event Handler package", "aws_lambda_powertools/event_handler/__init__.py", "<module>"),
    ("Powertools' OpenAPI models module", "event_handler/openapi/models.py", "<module>"),
    ("Pydantic model classes built (ModelMetaclass)", "pydantic/_internal/_model_construction.py", "__new__"),
    ("import boto3", "boto3/__init__.py", "<module>"),
    ("botocore clients created", "botocore/session.py", "create_client"),
    ("regular expressions compiled", "re/__init__.py", "_compile"),
    ("the request through the light door (validation, clients, check, store, answer)", "doors/checks.py", "handle"),
)


def profile(document: str, environment: dict[str, str]) -> tuple[float, list[Suspect]]:
    """One more fresh handler process under cProfile (set-up and answer only); cProfile inflates pure-Python code,
    so these are shares of its total, not milliseconds to add up."""
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "first-answer.prof")
        _run(HANDLER, document, environment, profile_to=path)
        stats: Any = pstats.Stats(path)
    entries = stats.stats  # {(file, line, function): (calls, primitive calls, own time, inclusive time, callers)}
    total = max(entry[3] for entry in entries.values())
    suspects = []
    for name, file_suffix, function in SUSPECTS:
        inclusive = [
            entry[3] for (file, _, func), entry in entries.items() if file.endswith(file_suffix) and func == function
        ]
        suspects.append(Suspect(name, f"{file_suffix}:{function}", max(inclusive) * 1000 if inclusive else None))
    return total * 1000, suspects

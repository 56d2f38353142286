"""``make serve``: the local API on 127.0.0.1 for manual calls, until Ctrl-C. Seeds the demo registry first.

Set ``LAYERCHECK_PORT`` to choose the port (default 3000).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading

import boto3

from local.adapter import LocalApiGateway
from local.environment import create_results_table, lambda_environment, moto_server, patched_environ
from local.lambda_context import LOCAL_REGION
from local.scenario import demo_request, seed_registry


def main() -> int:
    port = int(os.environ.get("LAYERCHECK_PORT", "3000"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with moto_server() as endpoint, patched_environ(lambda_environment(endpoint)):
        from layercheck.handler import lambda_handler

        seed_registry(boto3.client("ecr", region_name=LOCAL_REGION))
        create_results_table(endpoint)
        with LocalApiGateway(lambda_handler, port=port) as api:
            digest = demo_request().layer_digests[0]
            print(f"layercheck local API: {api.url}   (moto: {endpoint})", flush=True)
            print(f"  Swagger UI: {api.url}/swagger")
            body = json.dumps({"repositoryNames": ["platform/base", "team-a/api"], "layerDigests": [digest]})
            print(f"  curl -s -X POST {api.url}/checks -H 'Content-Type: application/json' \\\n       -d '{body}'")
            print(f"  curl -s '{api.url}/results?repositoryName=platform/base'")
            print("Ctrl-C to stop.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

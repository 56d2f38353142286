"""The floor under any boto3-based client: botocore's own CPU per 100-digest ``BatchCheckLayerAvailability`` call.

A local HTTP server answers every call at once with a realistic 100-entry answer (80 layers, 20 failures); the client
thread's CPU (``time.thread_time``, so the server thread in the same process is not counted) is divided by the calls.
``python -m bench.botocore_floor`` prints it with and without botocore's parameter validation: times 1,000 calls plus
the interpreter's start, it is the least a single process can spend on 100,000 pairs (docs/BENCHMARKS.md, section 1).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config

CALLS = 300
DIGESTS = [f"sha256:{index:064x}" for index in range(100)]
ANSWER = json.dumps(
    {
        "layers": [
            {
                "layerDigest": digest,
                "layerAvailability": "AVAILABLE",
                "layerSize": 123,
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            }
            for digest in DIGESTS[:80]
        ],
        "failures": [
            {
                "layerDigest": digest,
                "failureCode": "MissingLayerDigest",
                "failureReason": "The image layer could not be found in the repository.",
            }
            for digest in DIGESTS[80:]
        ],
    }
).encode()


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: Any) -> None:
        return


def cpu_ms_per_call(endpoint: str, *, validate: bool) -> float:
    client: Any = boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=validate),
    )
    client.batch_check_layer_availability(repositoryName="floor", layerDigests=DIGESTS)  # warm the client
    started = time.thread_time()
    for _ in range(CALLS):
        client.batch_check_layer_availability(repositoryName="floor", layerDigests=DIGESTS)
    return (time.thread_time() - started) / CALLS * 1000


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    try:
        for validate in (True, False):
            label = "with" if validate else "without"
            milliseconds = cpu_ms_per_call(endpoint, validate=validate)
            print(f"botocore CPU per 100-digest call, {label} parameter validation: {milliseconds:.2f} ms")
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

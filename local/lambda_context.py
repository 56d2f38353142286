"""A Lambda context for running the handler outside Lambda (the local adapter, tests, the demo)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account, so the default registry is the seeded one
LOCAL_REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    function_name: str = "layercheck"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:layercheck"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/layercheck"
    log_stream_name: str = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000

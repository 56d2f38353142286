"""The deployed function runs the Lambda runtime's boto3 and botocore, not the versions the tests ran (the asset
carries only our package, STYLE.md "No Docker at synth"). botocore refuses to send a parameter or call an operation
its service model does not have, so an older runtime would fail deep inside an audit, once per call, as a
``ParamValidationError`` or an ``AttributeError``. The handler checks once, when the function starts, and fails
loudly instead: ``BotocoreTooOldError`` names the runtime's botocore, the version layercheck is tested with, and
what is missing.

Checked on botocore's own ECR model (what the runtime can send), not on a version number: a runtime whose botocore
has the operations passes whatever its version. The model is read through boto3's default session, whose loader the
function's clients read (``boto3.client``): the ECR client then takes it from that loader's cache, so a cold start
parses botocore's ECR model (about 15 ms) once, not twice.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore

# requirements.txt's pin: the version every test runs (tests/unit/test_runtime_check.py keeps the two equal).
TESTED_BOTOCORE = "1.44.8"
# (operation, parameter path or None): the ECR API the code calls that older botocore models lack.
# DescribeImages filter.imageStatus lists archived images (integrations/ecr.py); DescribeImageReplicationStatus says
# how each image's copies stand (integrations/ecr_replication.py).
REQUIRED_ECR_API: tuple[tuple[str, str | None], ...] = (
    ("DescribeImages", "filter.imageStatus"),
    ("DescribeImageReplicationStatus", None),
)


class BotocoreTooOldError(RuntimeError):
    def __init__(self, installed: str, missing: list[str]) -> None:
        self.installed = installed
        self.missing = missing
        super().__init__(
            f"botocore {installed} (the Lambda runtime's) lacks ECR {', '.join(missing)}, which layercheck calls; "
            f"it is tested with botocore {TESTED_BOTOCORE}: deploy to a runtime whose botocore is at least that "
            "recent (docs/DEPLOY.md)"
        )


def missing_ecr_api(model: Any) -> list[str]:
    """The entries of ``REQUIRED_ECR_API`` that botocore's ECR service model lacks, as ``Operation.parameter``."""
    missing: list[str] = []
    for operation, parameter in REQUIRED_ECR_API:
        if operation not in model.operation_names:
            missing.append(operation)
            continue
        shape = model.operation_model(operation).input_shape
        for name in (parameter or "").split(".") if parameter else ():
            shape = getattr(shape, "members", {}).get(name)
            if shape is None:
                missing.append(f"{operation} {parameter}")
                break
    return missing


def _default_session_ecr_model() -> Any:
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session: Any = boto3.DEFAULT_SESSION
    return session._session.get_service_model("ecr")  # its botocore session, the one clients load models with


def require_ecr_api(model: Any | None = None, installed: str | None = None) -> None:
    """Raise ``BotocoreTooOldError`` unless botocore can send every call of ``REQUIRED_ECR_API``."""
    model = model if model is not None else _default_session_ecr_model()
    missing = missing_ecr_api(model)
    if missing:
        raise BotocoreTooOldError(installed or botocore.__version__, missing)

"""One way to build a layercheck Lambda: our package as the asset, Powertools from its public layer, its own role and
log group. The stack runs two functions built this way from the one asset and handler (see functions.py)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.reader_access import function_role_name, function_role_path
from layercheck.contracts import environment as env
from layercheck.contracts import metrics

LAMBDA_SOURCE = Path(__file__).resolve().parents[2] / "lambda_src"
HANDLER = "layercheck.handler.lambda_handler"
# The newest Python runtime aws-cdk-lib knows (cdk-nag's Serverless-LambdaLatestVersion insists on it); the
# Powertools layer is published per Python version, so both are derived from this one value.
RUNTIME = lambda_.Runtime.PYTHON_3_14
PYTHON_VERSION = RUNTIME.name.removeprefix("python")
ARCHITECTURE = lambda_.Architecture.ARM_64
# gitignore-style allowlist: only the ``layercheck`` package's Python sources go into the asset (no caches, no
# egg-info written by an editable install, no stray files). tests/infra checks the result.
ASSET_EXCLUDES = ["/*", "!/layercheck/", "/layercheck/**", "!/layercheck/**/", "!/layercheck/**/*.py", "__pycache__/"]


def powertools_layer_parameter(version: str) -> str:
    """The public SSM parameter that holds the Powertools layer ARN for our runtime and architecture.
    https://docs.aws.amazon.com/powertools/python/latest/#lambda-layer"""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/python{PYTHON_VERSION}/{version}"


def powertools_environment(config: LayerCheckConfig) -> dict[str, str]:
    """What Powertools reads. The service names every log line and trace; the code switches off the ``service``
    dimension Powertools Metrics would add, so its metrics carry ``Source`` alone (see metrics.py)."""
    return {
        env.POWERTOOLS_SERVICE_NAME: metrics.SERVICE_NAME,
        env.POWERTOOLS_METRICS_NAMESPACE: metrics.NAMESPACE,
        env.POWERTOOLS_LOG_LEVEL: config.log_level,
        env.POWERTOOLS_TRACE_DISABLED: str(not config.tracing).lower(),
    }


class SharedCode(Construct):
    """The one asset and the one Powertools layer both functions run: built once, so the assembly holds one zip."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LayerCheckConfig) -> None:
        super().__init__(scope, construct_id)
        self.code = lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=ASSET_EXCLUDES, ignore_mode=IgnoreMode.GIT)
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            # Resolved by CloudFormation at deploy time (an SSM parameter of the template): no lookup at synth.
            ssm.StringParameter.value_for_string_parameter(
                self, powertools_layer_parameter(config.powertools_layer_version)
            ),
        )


class LayerCheckFunction(Construct):
    """A function running ``HANDLER`` with its own role (``/layercheck/<stackName>/<stackName>-<id>``; no AWS managed
    policy: AWSLambdaBasicExecutionRole would allow logs on every group), its own log group with retention, JSON logs
    and optional X-Ray tracing."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LayerCheckConfig,
        shared: SharedCode,
        description: str,
        timeout: Duration,
        reserved_concurrency: int,
        environment: dict[str, str],
        function_options: lambda_.FunctionOptions | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.log_group = logs.LogGroup(self, "Logs", retention=config.log_retention, removal_policy=removal)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
            # The path LayerCheckReader roles trust (role/layercheck/<stackName>/*): these two roles, not any role of
            # the account whose generated name starts like the stack's.
            path=function_role_path(config.stack_name),
            # A fixed name, so that the pull-time exclusion stacks of the other audited Regions know its ARN
            # (infra/exclusion_stack.py). IAM names are account-wide: a second copy in one account needs its own
            # stackName.
            role_name=function_role_name(config.stack_name, construct_id),
        )
        self.log_group.grant_write(self.role)
        options = function_options or lambda_.FunctionOptions()
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=shared.code,
            layers=[shared.powertools],
            role=self.role,
            memory_size=config.lambda_memory_mb,
            timeout=timeout,
            # Caps this function's environments, hence its share of the ECR call rate (ECR_MAX_CALLS_PER_SECOND),
            # and keeps the other function's capacity its own.
            reserved_concurrent_executions=reserved_concurrency,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[config.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if config.tracing else lambda_.Tracing.DISABLED,
            environment={**powertools_environment(config), **environment},
            retry_attempts=options.retry_attempts,
            max_event_age=options.max_event_age,
            on_failure=options.on_failure,
        )

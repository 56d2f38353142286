"""The layercheck stack, composed like the picture in DESIGN.md: doors -> functions -> tables, metrics -> alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.alarms import Watched
from infra.constructs.api import CheckApi
from infra.constructs.change_events import ChangeEvents
from infra.constructs.functions import Functions
from infra.constructs.observability import Observability
from infra.constructs.reader_access import function_role_path
from infra.constructs.storage import IdempotencyTable, ResultsTable
from infra.constructs.triggers import AuditQueue, EventTriggers


class LayerCheckStack(Stack):
    """Everything layercheck needs in one account and Region."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LayerCheckConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="layercheck: verify that ECR images reference only layers their repositories hold",
            **kwargs,
        )
        results = ResultsTable(self, "Results", retain_data=config.retain_data)
        idempotency = IdempotencyTable(self, "Idempotency", retain_data=config.retain_data)
        audit = AuditQueue(self, "Audit", config=config)
        change_events = ChangeEvents(self, "ChangeEvents", config=config)
        functions = Functions(
            self,
            "Functions",
            config=config,
            results_table=results.table,
            idempotency_table=idempotency.table,
            audit_queue=audit.queue,
            change_events=change_events,
        )
        triggers = EventTriggers(self, "Triggers", config=config, function=functions.worker.function, audit_queue=audit)
        api = CheckApi(self, "Http", config=config, function=functions.api.function)
        observability = Observability(
            self,
            "Observability",
            config=config,
            watched=Watched(
                functions={"Api": functions.api.function, "Worker": functions.worker.function},
                api=api.api,
                audit_queue=audit.queue,
                dead_letter_queues=[
                    ("AuditDeadLetters", audit.dlq),
                    ("FailedInvocations", functions.failed_invocations),
                    ("EventDeliveryDeadLetters", triggers.event_delivery_dlq),
                ],
            ),
        )

        CfnOutput(self, "ApiUrl", value=api.api.url, description="Base URL; sign requests with SigV4 (execute-api)")
        CfnOutput(self, "ResultsTableName", value=results.table.table_name)
        CfnOutput(self, "IdempotencyTableName", value=idempotency.table.table_name)
        CfnOutput(self, "AuditQueueUrl", value=audit.queue.queue_url)
        CfnOutput(self, "ApiFunctionName", value=functions.api.function.function_name)
        CfnOutput(self, "WorkerFunctionName", value=functions.worker.function.function_name)
        CfnOutput(self, "AlarmTopicArn", value=observability.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=observability.dashboard.dashboard_name)
        CfnOutput(
            self,
            "EventBusName",
            value=change_events.bus_name,
            description="Image Verdict Changed events (source layercheck): subscribe with rules on this bus",
        )
        CfnOutput(
            self,
            "FunctionRolePath",
            value=function_role_path(config.stack_name),
            description="The path of both function roles, which LayerCheckReader roles trust",
        )

"""Adding an in-use source: a newcomer's module (written here as they would write it) and one line in the composition
root's list (``dependencies.in_use_sources``) bring its workloads into the audit's verdicts, with no other change.
On moto, end to end through the handler and the audit queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from layercheck import dependencies
from layercheck.handler import lambda_handler
from layercheck.integrations.aws_errors import code_and_message
from layercheck.logic.in_use import FoundReference, InUseSourceError, RegistryRef, SourceReach
from layercheck.models.in_use import InUseReference, UsedBy, UsedByKind
from layercheck_cli import in_use as command_line_in_use
from layercheck_cli.session import ConnectionOptions
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import create_repository, push_image
from tests.integration.event_support import prepare_event_doors
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.integration.org_support import HOME, OWN, set_push_order
from tests.support import TABLE_NAME, load_event

HOST = f"{OWN}.dkr.ecr.{HOME}.amazonaws.com"


# -- the newcomer's module: EventBridge Scheduler schedules that run ECS tasks ---------------------------------------

SOURCE_SCHEDULER = "scheduler"


class ScheduledTasks:
    """``InUseSource`` over the schedules whose target runs an ECS task: each image of the task definition is in use
    by the schedule (a task the schedule starts later pulls it)."""

    name = SOURCE_SCHEDULER

    def __init__(self, scheduler: Any, ecs: Any) -> None:
        self._scheduler = scheduler
        self._ecs = ecs

    def references(self, registry: RegistryRef) -> Iterator[FoundReference]:
        try:
            for page in self._scheduler.get_paginator("list_schedules").paginate():
                for listed in page["Schedules"]:
                    schedule = self._scheduler.get_schedule(Name=listed["Name"], GroupName=listed["GroupName"])
                    definition = schedule["Target"].get("EcsParameters", {}).get("TaskDefinitionArn")
                    if definition:
                        user = UsedBy(kind=UsedByKind.ECS_TASK, id=schedule["Arn"])
                        described = self._ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]
                        for container in described["containerDefinitions"]:
                            yield FoundReference(container["image"], user)
        except (ClientError, BotoCoreError) as error:
            raise InUseSourceError(SOURCE_SCHEDULER, *code_and_message(error)) from error


def in_use_source(reach: SourceReach) -> ScheduledTasks:
    return ScheduledTasks(reach.client("scheduler"), reach.client("ecs"))


# -- the specification -----------------------------------------------------------------------------------------------


@pytest.fixture
def queue_url(aws: None, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])  # moto lacks the action; this registry has no rules
    return prepare_event_doors(monkeypatch, AUDIT_TAGGED_ONLY="true", AUDIT_NEWEST_IMAGES="1")


def schedule_batch(ecs: Any, scheduler: Any) -> str:
    """A schedule that runs a task of team-c/batch:nightly; returns the schedule's ARN."""
    definition = ecs.register_task_definition(
        family="batch", containerDefinitions=[{"name": "batch", "image": f"{HOST}/team-c/batch:nightly", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    arn: str = scheduler.create_schedule(
        Name="nightly",
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:ecs:{HOME}:{OWN}:cluster/batch",
            "RoleArn": f"arn:aws:iam::{OWN}:role/scheduler",
            "EcsParameters": {"TaskDefinitionArn": definition},
        },
    )["ScheduleArn"]
    return arn


def add_the_newcomers_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one line in the root's list (``dependencies.IN_USE_SOURCES``), as a test makes it: this module's factory."""
    newcomer = f"{__name__}:{in_use_source.__name__}"
    monkeypatch.setattr(dependencies, "IN_USE_SOURCES", (*dependencies.IN_USE_SOURCES, newcomer))


def image_users(dynamodb: Any) -> dict[str, list[dict[str, str]] | None]:
    """Each stored image verdict's ``usedBy``, by digest."""
    from layercheck.integrations.results_table import from_dynamodb

    items = dynamodb.scan(
        TableName=TABLE_NAME, FilterExpression="itemType = :image", ExpressionAttributeValues={":image": {"S": "image"}}
    )["Items"]
    verdicts = [from_dynamodb(item).model_dump(mode="json") for item in items]
    return {verdict["imageDigest"]: verdict.get("usedBy") for verdict in verdicts}


def test_a_source_added_to_the_roots_list_names_its_workloads_in_the_audits_verdicts(
    ecr: Any, dynamodb: Any, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an image only a schedule runs (no service, function or report names it), older than the audit's scope
    create_repository(ecr, "team-c/batch")
    nightly = push_image(ecr, "team-c/batch", ["os", "batch-1"], tag="nightly")["digest"]
    newest = push_image(ecr, "team-c/batch", ["os", "batch-2"], tag="v9")["digest"]
    set_push_order(OWN, HOME, "team-c/batch", [nightly, newest])
    schedule = schedule_batch(boto3.client("ecs", region_name=HOME), boto3.client("scheduler", region_name=HOME))
    # And the newcomer's factory added to the root's list, nothing else changed
    add_the_newcomers_source(monkeypatch)

    # When one audit runs
    lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    report = drain_queue(lambda_handler, boto3.client("sqs", region_name=HOME), queue_url)

    # Then the scheduled image was audited although the scope skips it, and its verdict names the schedule
    assert report.failed_message_ids == []
    assert image_users(dynamodb) == {
        nightly: [{"kind": "ecs-task", "id": schedule, "tag": "nightly"}],
        newest: None,
    }


def test_the_command_lines_discovery_reads_the_same_list(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a schedule on team-c/batch:nightly, and the newcomer's factory added to the root's list
    schedule = schedule_batch(boto3.client("ecs", region_name=HOME), boto3.client("scheduler", region_name=HOME))
    add_the_newcomers_source(monkeypatch)

    # When the command line reads who runs what, with the caller's credentials
    found = command_line_in_use.discover(
        botocore.session.get_session(), ConnectionOptions(region=HOME), registry=RegistryRef(OWN, HOME)
    )

    # Then the schedule is among the users, and every source could be read
    assert found.references("team-c/batch") == [
        InUseReference(usedBy=UsedBy(kind=UsedByKind.ECS_TASK, id=schedule, tag="nightly"))
    ]
    assert found.unknown == ()

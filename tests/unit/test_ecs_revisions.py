"""The ECS integration reads the digests each service's deployment pinned: DescribeServiceRevisions, 20 ARNs a call.

Shown with botocore's Stubber in the shapes ECS answers (moto has no service revisions): DescribeServices'
``currentServiceRevisions[].arn``, DescribeServiceRevisions' ``serviceRevisions[].containerImages[]`` and
``failures`` for a revision created before late October 2024, which cannot be described."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from layercheck.integrations.ecs import MAX_REVISIONS_PER_DESCRIBE, EcsContainer, EcsInventory

ACCOUNT, REGION, CLUSTER = "123456789012", "us-east-1", "prod"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:stable"
DEFINITION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/api:1"


def service_arn(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/api-{n}"


def revision_arn(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/api-{n}/{1000 + n}"


def digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def revision(n: int) -> dict[str, Any]:
    return {
        "serviceRevisionArn": revision_arn(n),
        "serviceArn": service_arn(n),
        "clusterArn": CLUSTER_ARN,
        "taskDefinition": DEFINITION,
        "containerImages": [{"containerName": "api", "imageDigest": digest(n), "image": IMAGE}],
    }


def stub_cluster(stubber: Stubber, services: int) -> None:
    """One cluster of ``services`` services on the same task definition, none running a task."""
    stubber.add_response("list_clusters", {"clusterArns": [CLUSTER_ARN]})
    stubber.add_response("list_services", {"serviceArns": [service_arn(n) for n in range(services)]})
    for start in range(0, services, 10):
        described = [
            {
                "serviceArn": service_arn(n),
                "status": "ACTIVE",
                "taskDefinition": DEFINITION,
                "currentServiceRevisions": [{"arn": revision_arn(n)}],
            }
            for n in range(start, min(services, start + 10))
        ]
        stubber.add_response("describe_services", {"services": described})


def test_pinned_digests_are_read_twenty_revisions_a_call(aws_environment: dict[str, str]) -> None:
    # Given 21 services, each with one current revision
    client = boto3.client("ecs", region_name=REGION)
    stubber = Stubber(client)
    stub_cluster(stubber, 21)
    for chunk in ([*range(20)], [20]):
        arns = [revision_arn(n) for n in chunk]
        answer = {"serviceRevisions": [revision(n) for n in chunk], "failures": []}
        stubber.add_response("describe_service_revisions", answer, {"serviceRevisionArns": arns})
    stubber.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": DEFINITION,
                "containerDefinitions": [{"name": "api", "image": IMAGE}],
            }
        },
    )
    stubber.add_response("list_tasks", {"taskArns": []})

    # When the workloads are listed
    with stubber:
        workloads = EcsInventory(client).list_workloads()

    # Then two calls (20, then 1) named every revision, and each service runs its pinned digest besides its tag
    assert MAX_REVISIONS_PER_DESCRIBE == 20
    stubber.assert_no_pending_responses()
    assert [service.pinned for service in workloads.services] == [(EcsContainer(IMAGE, digest(n)),) for n in range(21)]
    assert all(service.images == (IMAGE,) for service in workloads.services)


def test_a_revision_ecs_cannot_describe_or_a_refused_call_leaves_only_the_tag_and_the_tasks(
    aws_environment: dict[str, str],
) -> None:
    client = boto3.client("ecs", region_name=REGION)
    stubber = Stubber(client)
    stub_cluster(stubber, 2)
    stubber.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [revision(1)], "failures": [{"arn": revision_arn(0), "reason": "MISSING"}]},
    )
    stubber.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": DEFINITION,
                "containerDefinitions": [{"name": "api", "image": IMAGE}],
            }
        },
    )
    stubber.add_response("list_tasks", {"taskArns": []})
    with stubber:
        described = EcsInventory(client).list_workloads()

    refused_client = boto3.client("ecs", region_name=REGION)
    refused = Stubber(refused_client)
    stub_cluster(refused, 1)
    refused.add_client_error("describe_service_revisions", "AccessDeniedException", "not authorized")
    refused.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": DEFINITION,
                "containerDefinitions": [{"name": "api", "image": IMAGE}],
            }
        },
    )
    refused.add_response("list_tasks", {"taskArns": []})
    with refused:
        without = EcsInventory(refused_client).list_workloads()

    assert [service.pinned for service in described.services] == [(), (EcsContainer(IMAGE, digest(1)),)]
    assert [(service.pinned, service.images) for service in without.services] == [((), (IMAGE,))]

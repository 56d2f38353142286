"""The organization-wide audit on moto, end to end through the handler and the audit queue:
images in use carry ``usedBy`` and are checked whatever the scope; two accounts × two Regions are audited from one
deployment; replicas are judged at their destinations; a registry that cannot be read is reported, not fatal."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from layercheck.handler import lambda_handler
from layercheck.integrations.in_use_references import InUseReferenceStore
from layercheck.integrations.inventory_store import InventoryStore
from layercheck.models.in_use import InUseReference, InventoryEntry, UsedBy
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.moto_ecr import teach_image_replication_status
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image
from tests.integration.event_support import prepare_event_doors
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.integration.org_support import (
    HOME,
    OTHER_REGION,
    OWN,
    Image,
    age_images,
    client_of,
    set_push_order,
)
from tests.support import TABLE_NAME, emf_totals, load_event, refuse_assume_role

MEMBER = "111122223333"
UNREACHABLE = "444455556666"  # its reader role cannot be assumed
HOST = f"{OWN}.dkr.ecr.{HOME}.amazonaws.com"


@pytest.fixture
def queue_url(aws: None, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])  # moto lacks the action; these registries have no rules
    return prepare_event_doors(monkeypatch)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=HOME)


def image_verdicts(dynamodb: Any) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Stored image verdicts by (registryId, region, repository, digest) (the table holds inventory entries too)."""
    from layercheck.integrations.results_table import from_dynamodb

    pages = dynamodb.get_paginator("scan").paginate(
        TableName=TABLE_NAME, FilterExpression="itemType = :image", ExpressionAttributeValues={":image": {"S": "image"}}
    )
    items = [from_dynamodb(item).model_dump(mode="json") for page in pages for item in page["Items"]]
    return {(item["registryId"], item["region"], item["repositoryName"], item["imageDigest"]): item for item in items}


def run_audit(sqs: Any, queue_url: str) -> tuple[dict[str, Any], Any]:
    started = lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    return started, drain_queue(lambda_handler, sqs, queue_url)


# -- images in use ---------------------------------------------------------------------------------------


def test_an_audit_checks_the_images_in_use_whatever_the_scope_and_names_their_users(
    ecr: Any, dynamodb: Any, queue_url: str, sqs: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # Given a scope of the newest tagged image of each repository only
    monkeypatch.setenv("AUDIT_TAGGED_ONLY", "true")
    monkeypatch.setenv("AUDIT_NEWEST_IMAGES", "1")
    monkeypatch.setenv("MOTO_LAMBDA_STUB_ECR", "false")  # moto's Lambda then reads images from its own ECR
    create_repository(ecr, "team-a/api")
    broken = push_image(
        ecr, "team-a/api", ["os"], tag="broken", absent_layers=[descriptor(OCI_LAYER, blob("never-uploaded"))]
    )["digest"]
    newest_api = push_image(ecr, "team-a/api", ["os", "api-2"], tag="v2")["digest"]
    set_push_order(OWN, HOME, "team-a/api", [broken, newest_api])
    create_repository(ecr, "functions")
    function_image = push_image(ecr, "functions", ["os", "fn-1"], tag="v1")["digest"]
    newest_fn = push_image(ecr, "functions", ["os", "fn-2"], tag="v2")["digest"]
    set_push_order(OWN, HOME, "functions", [function_image, newest_fn])
    create_repository(ecr, "team-c/batch")
    nightly = push_image(ecr, "team-c/batch", ["os", "batch-1"], tag="nightly")["digest"]
    newest_batch = push_image(ecr, "team-c/batch", ["os", "batch-2"], tag="v9")["digest"]
    set_push_order(OWN, HOME, "team-c/batch", [nightly, newest_batch])
    # an ECS service on the broken image by tag, a Lambda function on the good one by digest, an inventory entry
    ecs = boto3.client("ecs", region_name=HOME)
    ecs.create_cluster(clusterName="prod")
    definition = ecs.register_task_definition(
        family="api", containerDefinitions=[{"name": "api", "image": f"{HOST}/team-a/api:broken", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(cluster="prod", serviceName="api", taskDefinition=definition, desiredCount=0)
    service_arn = service["service"]["serviceArn"]
    boto3.client("iam", region_name=HOME).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    function_arn = boto3.client("lambda", region_name=HOME).create_function(
        FunctionName="fn",
        Role=f"arn:aws:iam::{OWN}:role/fn",
        PackageType="Image",
        Code={"ImageUri": f"{HOST}/functions@{function_image}"},
    )["FunctionArn"]
    InventoryStore(TABLE_NAME, dynamodb).put_entries(
        [
            InventoryEntry(
                source="k8s-prod",
                registryId=OWN,
                region=HOME,
                repositoryName="team-c/batch",
                imageTag="nightly",
                reportedAt="2026-01-01T00:00:00Z",
                expiresAt=4_000_000_000,
            )
        ]
    )

    # When one audit runs
    _, report = run_audit(sqs, queue_url)

    # Then the in-use images were checked although the scope skips them, with who uses each; the others carry none
    assert report.failed_message_ids == []
    verdicts = image_verdicts(dynamodb)
    used = {key[3]: (verdict["status"], verdict.get("usedBy")) for key, verdict in verdicts.items()}
    assert used == {
        broken: ("BROKEN", [{"kind": "ecs-service", "id": service_arn, "tag": "broken"}]),
        newest_api: ("COMPLETE", None),
        function_image: ("COMPLETE", [{"kind": "lambda-function", "id": function_arn}]),
        newest_fn: ("COMPLETE", None),
        nightly: ("COMPLETE", [{"kind": "inventory", "id": "k8s-prod", "tag": "nightly"}]),
        newest_batch: ("COMPLETE", None),
    }
    totals = emf_totals(capsys.readouterr().out)
    assert totals["InUseImagesBroken"] == 1
    assert totals["BrokenImages"] == 1


def test_a_repository_item_reads_the_references_its_registrys_audit_stored(ecr: Any, queue_url: str, sqs: Any) -> None:
    create_repository(ecr, "team-a/api")
    digest = push_image(ecr, "team-a/api", ["os"], tag="live")["digest"]
    InventoryStore(TABLE_NAME, boto3.client("dynamodb", region_name=HOME)).put_entries(
        [
            InventoryEntry(
                source="onprem",
                registryId=OWN,
                region=HOME,
                repositoryName="team-a/api",
                imageDigest=digest,
                reportedAt="2026-01-01T00:00:00Z",
                expiresAt=4_000_000_000,
            )
        ]
    )

    _, report = run_audit(sqs, queue_url)

    # The item itself carries only where to find them: no message size limit can leave an image in use out
    repository_item = next(json.loads(body) for body in report.bodies if json.loads(body)["kind"] == "repository")
    assert repository_item["region"] == HOME
    assert repository_item["inUseChunks"] == 1 and "inUse" not in repository_item
    references = InUseReferenceStore(TABLE_NAME, boto3.client("dynamodb", region_name=HOME)).references(
        repository_item["auditId"], OWN, HOME, "team-a/api", repository_item["inUseChunks"]
    )
    assert references == [InUseReference(imageDigest=digest, usedBy=UsedBy(kind="inventory", id="onprem"))]


# -- accounts, Regions, replicas --------------------------------------------------------------------------


def _refuse_role_of(monkeypatch: pytest.MonkeyPatch, account: str) -> None:
    """Real STS answers AccessDenied when the reader role is missing or does not trust us; moto assumes any role,
    so the AssumeRole of that one account is answered as real STS would."""
    message = f"User is not authorized to perform: sts:AssumeRole on arn:aws:iam::{account}:role/x"
    refuse_assume_role(monkeypatch, [account], message)


def test_one_audit_covers_two_accounts_in_two_regions_and_judges_replicas_at_their_destination(
    dynamodb: Any, queue_url: str, sqs: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any, caplog: Any
) -> None:
    monkeypatch.setenv("AUDIT_ACCOUNTS", f"{OWN},{MEMBER},{UNREACHABLE}")
    monkeypatch.setenv("AUDIT_REGIONS", f"{HOME},{OTHER_REGION}")
    _refuse_role_of(monkeypatch, UNREACHABLE)
    # Given this account's us-east-1 registry replicating team/ to eu-west-1, where (moto replicates nothing) one
    # copy is complete, one lacks a layer and one is absent
    source = client_of("ecr", OWN, HOME)
    destination = client_of("ecr", OWN, OTHER_REGION)
    source.put_replication_configuration(
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [{"region": OTHER_REGION, "registryId": OWN}],
                    "repositoryFilters": [{"filter": "team/", "filterType": "PREFIX_MATCH"}],
                }
            ]
        }
    )
    whole, torn, absent = Image(("os", "web-1")), Image(("os", "web-2")), Image(("os", "web-3"))
    create_repository(source, "team/web")
    digests = {
        image: image.push(source, "team/web", tag=label) for image, label in ((whole, "1"), (torn, "2"), (absent, "3"))
    }
    create_repository(destination, "team/web")
    whole.push(destination, "team/web", tag="1")
    torn.push(destination, "team/web", tag="2", skip=("web-2",))
    age_images(OWN, HOME, "team/web")
    # and the member account with a repository of the same name in both Regions, broken in the second
    member_home, member_other = client_of("ecr", MEMBER, HOME), client_of("ecr", MEMBER, OTHER_REGION)
    create_repository(member_home, "team/api")
    member_good = Image(("os", "api-1")).push(member_home, "team/api", tag="v1")
    create_repository(member_other, "team/api")
    member_broken = push_image(
        member_other, "team/api", ["os"], tag="v1", absent_layers=[descriptor(OCI_LAYER, blob("gone"))]
    )["digest"]

    # When one audit runs
    started, report = run_audit(sqs, queue_url)

    # Then six registries were queued and nothing failed (the unreachable account is reported, not retried)
    assert started["registries"] == 6
    assert report.failed_message_ids == []
    verdicts = image_verdicts(dynamodb)
    statuses = {key: verdict["status"] for key, verdict in verdicts.items()}
    assert statuses == {
        (OWN, HOME, "team/web", digests[whole]): "COMPLETE",
        (OWN, HOME, "team/web", digests[torn]): "COMPLETE",
        (OWN, HOME, "team/web", digests[absent]): "COMPLETE",
        # the destination is audited as a registry of its own: there the torn copy is broken
        (OWN, OTHER_REGION, "team/web", digests[whole]): "COMPLETE",
        (OWN, OTHER_REGION, "team/web", digests[torn]): "BROKEN",
        (MEMBER, HOME, "team/api", member_good): "COMPLETE",
        (MEMBER, OTHER_REGION, "team/api", member_broken): "BROKEN",
    }
    # and each source image's replicas say what its destination holds
    missing_layer = torn.layer_digests()[1]
    replicas = {image: verdicts[(OWN, HOME, "team/web", digests[image])]["replicas"] for image in (whole, torn, absent)}
    where = {"region": OTHER_REGION, "registryId": OWN}
    assert replicas == {
        whole: [{**where, "status": "COMPLETE", "missingLayers": []}],
        torn: [{**where, "status": "BROKEN", "missingLayers": [missing_layer]}],
        absent: [{**where, "status": "MISSING", "missingLayers": []}],
    }
    assert "replicas" not in verdicts[(MEMBER, HOME, "team/api", member_good)]
    totals = emf_totals(capsys.readouterr().out)
    assert totals["ReplicasIncomplete"] == 2
    assert totals["RegistriesUnreadable"] == 2  # the unreachable account's two Regions
    unreadable = [vars(record) for record in caplog.records if record.getMessage() == "registry unreadable"]
    assert {(entry["account"], entry["unreadable_region"], entry["code"]) for entry in unreadable} == {
        (UNREACHABLE, HOME, "AccessDenied"),
        (UNREACHABLE, OTHER_REGION, "AccessDenied"),
    }


def _replicated_repository() -> tuple[Any, list[str]]:
    """This account's registry replicating team/ to OTHER_REGION, with three images just pushed there."""
    source = client_of("ecr", OWN, HOME)
    source.put_replication_configuration(
        replicationConfiguration={"rules": [{"destinations": [{"region": OTHER_REGION, "registryId": OWN}]}]}
    )
    create_repository(source, "team/web")
    return source, [Image(("os", f"image-{n}")).push(source, "team/web", tag=f"v{n}") for n in range(3)]


def test_replicas_follow_ecrs_replication_status_before_the_destination(
    dynamodb: Any, queue_url: str, sqs: Any, capsys: Any
) -> None:
    """Stands for real ECR's DescribeImageReplicationStatus (moto lacks it; local/moto_ecr.py answers it): an image
    pushed before the rule has no entry for the destination, one being copied is IN_PROGRESS, a failed copy FAILED."""
    # Given three images none of which is at the destination (moto copies nothing)
    _, (old, copying, failed) = _replicated_repository()
    teach_image_replication_status(
        {
            old: [],
            copying: [{"region": OTHER_REGION, "registryId": OWN, "status": "IN_PROGRESS"}],
            failed: [{"region": OTHER_REGION, "registryId": OWN, "status": "FAILED", "failureCode": "KMS_ERROR"}],
        }
    )

    run_audit(sqs, queue_url)

    # Then each replica says what ECR says, and only the failed copy counts as incomplete
    verdicts = image_verdicts(dynamodb)
    replicas = {digest: verdicts[(OWN, HOME, "team/web", digest)]["replicas"] for digest in (old, copying, failed)}
    assert [r["status"] for r in replicas[old]] == ["NOT_SCHEDULED"]
    assert [r["status"] for r in replicas[copying]] == ["PENDING"]
    assert [(r["status"], r["failureCode"]) for r in replicas[failed]] == [("FAILED", "KMS_ERROR")]
    assert emf_totals(capsys.readouterr().out)["ReplicasIncomplete"] == 1


def test_without_the_status_call_a_replica_younger_than_the_grace_is_pending_and_says_why(
    dynamodb: Any, queue_url: str, sqs: Any, capsys: Any
) -> None:
    """Stands for a reader role without ecr:DescribeImageReplicationStatus (real ECR: AccessDeniedException)."""
    # Given images pushed just now (REPLICATION_GRACE_MINUTES defaults to 60) whose copies have not arrived yet
    _, digests = _replicated_repository()
    teach_image_replication_status(dict.fromkeys(digests, "AccessDeniedException"))

    run_audit(sqs, queue_url)

    verdicts = image_verdicts(dynamodb)
    for digest in digests:
        [replica] = verdicts[(OWN, HOME, "team/web", digest)]["replicas"]
        assert (replica["status"], replica["failureCode"]) == ("PENDING", "ReplicationStatusUnavailable")
        assert "AccessDeniedException" in replica["failureReason"]
    assert emf_totals(capsys.readouterr().out)["ReplicasIncomplete"] == 0


def test_a_workload_in_one_account_on_another_audited_accounts_image_is_named_in_that_images_verdict(
    dynamodb: Any, queue_url: str, sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two audited accounts: this one's registry holds an image, and the member account runs it in ECS
    monkeypatch.setenv("AUDIT_ACCOUNTS", f"{OWN},{MEMBER}")
    own_ecr = client_of("ecr", OWN, HOME)
    create_repository(own_ecr, "shared/base")
    shared = Image(("os", "base-1")).push(own_ecr, "shared/base", tag="stable")
    member_ecs = client_of("ecs", MEMBER, HOME)
    member_ecs.create_cluster(clusterName="prod")
    definition = member_ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": f"{HOST}/shared/base:stable", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    service_arn = member_ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition=definition, desiredCount=0
    )["service"]["serviceArn"]

    # When two audits run (the member's registry item may run after this registry's: it reports for the next one)
    _, first = run_audit(sqs, queue_url)
    second_event = {**load_event("eventbridge_scheduled_event.json"), "id": "second-audit"}
    lambda_handler(second_event, FakeLambdaContext())
    second = drain_queue(lambda_handler, sqs, queue_url)

    # Then this registry's verdict names the member account's service, by the tag it resolved itself
    assert first.failed_message_ids == second.failed_message_ids == []
    verdict = image_verdicts(dynamodb)[(OWN, HOME, "shared/base", shared)]
    assert (verdict["status"], verdict["usedBy"]) == (
        "COMPLETE",
        [{"kind": "ecs-service", "id": service_arn, "tag": "stable"}],
    )

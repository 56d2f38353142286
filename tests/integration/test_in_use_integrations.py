"""The in-use sources against moto: ECS services and tasks, Lambda image functions, ECR tags, the inventory store,
and ``discover_in_use`` over all of them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from layercheck.errors import RepositoryCheckError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecs import MAX_SERVICES_PER_DESCRIBE, EcsInUse, EcsInventory
from layercheck.integrations.inventory_store import InventoryStore
from layercheck.integrations.lambda_functions import LambdaFunctions, LambdaInUse
from layercheck.logic.in_use import InUseSourceError, RegistryRef, discover_in_use, resolve_in_use
from layercheck.models.in_use import InUseReference, InventoryEntry, UsedBy
from local.seed import create_repository, put_manifest

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda"
NOW = 1_800_000_000


def manifest(label: str) -> dict[str, Any]:
    """A small OCI manifest; its digest differs per label (nothing here pulls its blobs)."""
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [],
        "annotations": {"label": label},
    }


def push(ecr: Any, repository: str, tag: str) -> str:
    digest: str = put_manifest(ecr, repository, manifest(f"{repository}:{tag}"), tag)["digest"]
    return digest


def task_definition(ecs: Any, family: str, images: list[str]) -> str:
    containers = [{"name": f"c{n}", "image": image, "memory": 128} for n, image in enumerate(images)]
    arn: str = ecs.register_task_definition(family=family, containerDefinitions=containers)["taskDefinition"][
        "taskDefinitionArn"
    ]
    return arn


@pytest.fixture
def ecs(aws: None) -> Any:
    return boto3.client("ecs", region_name=REGION)


@pytest.fixture
def lambda_client(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    # moto resolves an image function's tag through its own ECR only with this off (the default stubs ECR out).
    monkeypatch.setenv("MOTO_LAMBDA_STUB_ECR", "false")
    boto3.client("iam", region_name=REGION).create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")
    return boto3.client("lambda", region_name=REGION)


def test_ecs_inventory_lists_every_services_task_definition_images_across_clusters(ecs: Any) -> None:
    # Given two clusters; one with more services than one DescribeServices call takes, sharing one task definition
    shared = task_definition(ecs, "api", [f"{HOST}/api:v1", f"{HOST}/sidecar:v2"])
    other = task_definition(ecs, "web", [f"{HOST}/web:v3"])
    ecs.create_cluster(clusterName="prod")
    ecs.create_cluster(clusterName="batch")
    for n in range(MAX_SERVICES_PER_DESCRIBE + 2):
        ecs.create_service(cluster="prod", serviceName=f"api-{n}", taskDefinition=shared, desiredCount=0)
    ecs.create_service(cluster="batch", serviceName="web", taskDefinition=other, desiredCount=0)

    # When the workloads are listed
    workloads = EcsInventory(ecs).list_workloads()

    # Then every service is there with its images (the shared task definition described once, see the next test)
    images = {service.arn.rsplit("/", 1)[-1]: service.images for service in workloads.services}
    assert len(images) == MAX_SERVICES_PER_DESCRIBE + 3
    assert images["api-11"] == (f"{HOST}/api:v1", f"{HOST}/sidecar:v2")
    assert images["web"] == (f"{HOST}/web:v3",)


def test_ecs_inventory_describes_each_task_definition_once(ecs: Any) -> None:
    shared = task_definition(ecs, "api", [f"{HOST}/api:v1"])
    ecs.create_cluster(clusterName="prod")
    for n in range(3):
        ecs.create_service(cluster="prod", serviceName=f"api-{n}", taskDefinition=shared, desiredCount=0)
    calls: list[str] = []
    ecs.meta.events.register("before-call.ecs.*", lambda model, **_: calls.append(model.name))

    EcsInventory(ecs).list_workloads()

    assert calls.count("DescribeTaskDefinition") == 1
    assert calls.count("DescribeServices") == 1


def test_ecs_inventory_lists_running_tasks_with_their_containers(ecs: Any) -> None:
    definition = task_definition(ecs, "job", [f"{HOST}/job:v1"])
    ecs.create_cluster(clusterName="batch")
    ecs.run_task(cluster="batch", taskDefinition=definition, launchType="FARGATE", startedBy="events-rule/nightly")

    workloads = EcsInventory(ecs).list_workloads()

    # moto reports a task's first container without imageDigest (ECS reports the digest it resolved: see the
    # Stubber test below)
    assert [(task.started_by, task.containers[0].image) for task in workloads.tasks] == [
        ("events-rule/nightly", f"{HOST}/job:v1")
    ]


def test_ecs_inventory_keeps_the_digest_ecs_resolved_for_a_running_container() -> None:
    """Stands for real ECS: DescribeTasks' ``containers[].imageDigest`` (moto never sets it)."""
    client = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    digest = "sha256:" + "a" * 64
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/1"
    with Stubber(client) as stubber:
        stubber.add_response("list_clusters", {"clusterArns": ["batch"]}, {"maxResults": 100})
        stubber.add_response("list_services", {"serviceArns": []}, {"cluster": "batch", "maxResults": 100})
        stubber.add_response(
            "list_tasks", {"taskArns": [task_arn]}, {"cluster": "batch", "desiredStatus": "RUNNING", "maxResults": 100}
        )
        stubber.add_response(
            "describe_tasks",
            {
                "tasks": [
                    {
                        "taskArn": task_arn,
                        "startedBy": "ecs-svc/123",
                        "containers": [{"name": "c0", "image": f"{HOST}/job:v1", "imageDigest": digest}],
                    }
                ],
                "failures": [],
            },
            {"cluster": "batch", "tasks": [task_arn]},
        )

        workloads = EcsInventory(client).list_workloads()

    assert workloads.tasks[0].containers[0].image_digest == digest
    assert workloads.tasks[0].started_by == "ecs-svc/123"


def test_ecs_inventory_translates_errors_into_a_source_failure() -> None:
    client = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_client_error("list_clusters", "AccessDeniedException", "not authorized", 400)
        with pytest.raises(InUseSourceError) as raised:
            EcsInventory(client).list_workloads()

    assert (raised.value.source, raised.value.code) == ("ecs", "AccessDeniedException")


def test_lambda_functions_lists_image_functions_with_their_resolved_digest(ecr: Any, lambda_client: Any) -> None:
    # Given an image function deployed by tag, and a zip function
    create_repository(ecr, "fn")
    digest = push(ecr, "fn", "v1")
    lambda_client.create_function(
        FunctionName="thumbnails", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{HOST}/fn:v1"}
    )
    lambda_client.create_function(
        FunctionName="zipped", Role=ROLE, Runtime="python3.12", Handler="h.h", Code={"ZipFile": b"x"}
    )

    # When the image functions are listed
    functions = list(LambdaFunctions(lambda_client).list_image_functions())

    # Then only the image function is there, with the digest Lambda resolved
    assert [(f.arn.rsplit(":", 1)[-1], f.image_uri, f.resolved_image_uri) for f in functions] == [
        ("thumbnails", f"{HOST}/fn:v1", f"{HOST}/fn@{digest}")
    ]


def test_lambda_functions_adds_each_aliased_versions_image(ecr: Any, lambda_client: Any) -> None:
    # Given version 1 on fn:v1 behind alias "live", and $LATEST moved on to fn:v2
    create_repository(ecr, "fn")
    first, second = push(ecr, "fn", "v1"), push(ecr, "fn", "v2")
    lambda_client.create_function(
        FunctionName="api", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{HOST}/fn:v1"}
    )
    version = lambda_client.publish_version(FunctionName="api")["Version"]
    lambda_client.create_alias(FunctionName="api", Name="live", FunctionVersion=version)
    lambda_client.update_function_code(FunctionName="api", ImageUri=f"{HOST}/fn:v2")

    functions = list(LambdaFunctions(lambda_client).list_image_functions())

    assert [(f.arn.split("function:")[1], f.resolved_image_uri) for f in functions] == [
        ("api", f"{HOST}/fn@{second}"),
        (f"api:{version}", f"{HOST}/fn@{first}"),
    ]


def test_ecr_tag_resolver_resolves_tags_and_names_the_missing_ones(ecr: Any) -> None:
    create_repository(ecr, "api")
    tags = {f"v{n}": push(ecr, "api", f"v{n}") for n in range(5)}

    answer = EcrRegistry(ecr).resolve_tags(ACCOUNT, REGION, "api", ["v0", "gone", "v3", "v4", "nope"])

    assert answer.digests == {"v0": tags["v0"], "v3": tags["v3"], "v4": tags["v4"]}
    assert answer.missing == {"gone": "ImageNotFoundException", "nope": "ImageNotFoundException"}


def test_ecr_tag_resolver_asks_100_tags_per_call(ecr: Any) -> None:
    create_repository(ecr, "api")
    tags = [f"v{n}" for n in range(201)]
    for tag in tags:
        push(ecr, "api", tag)
    sizes: list[int] = []
    ecr.meta.events.register(
        "provide-client-params.ecr.DescribeImages", lambda params, **_: sizes.append(len(params["imageIds"]))
    )

    answer = EcrRegistry(ecr).resolve_tags(ACCOUNT, REGION, "api", tags)

    assert sizes == [100, 100, 1] and len(answer.digests) == 201


def test_ecr_tag_resolver_raises_ecrs_code_for_a_missing_repository(ecr: Any) -> None:
    with pytest.raises(RepositoryCheckError) as raised:
        EcrRegistry(ecr).resolve_tags(ACCOUNT, REGION, "gone", ["v1"])

    assert raised.value.code == "RepositoryNotFoundException"


def test_inventory_store_reads_back_unexpired_entries_of_one_registry(dynamodb: Any, results_table: str) -> None:
    def entry(repository: str, expires_at: int, region: str = REGION) -> InventoryEntry:
        return InventoryEntry(
            source="k8s",
            registryId=ACCOUNT,
            region=region,
            repositoryName=repository,
            imageTag="v1",
            reportedAt="2026-01-01T00:00:00Z",
            expiresAt=expires_at,
        )

    store = InventoryStore(results_table, dynamodb, clock=lambda: NOW)
    fresh = [entry(f"repo-{n}", NOW + 3600) for n in range(30)]

    stored = store.put_entries([*fresh, entry("expired", NOW - 1), entry("elsewhere", NOW + 3600, "eu-west-1")])

    assert stored == 32
    assert sorted(e.repositoryName for e in store.list_entries(ACCOUNT, REGION)) == sorted(
        e.repositoryName for e in fresh
    )


def test_discover_in_use_over_moto_names_each_images_users(ecr: Any, ecs: Any, lambda_client: Any) -> None:
    # Given an ECS service on api:v1 and a Lambda function on fn by digest, in the audited registry
    # (discovery only collects the references; each repository's audit resolves its tags against its listing)
    create_repository(ecr, "api")
    create_repository(ecr, "fn")
    api = push(ecr, "api", "v1")
    fn = push(ecr, "fn", "v7")
    ecs.create_cluster(clusterName="prod")
    service_arn = ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition=task_definition(ecs, "api", [f"{HOST}/api:v1", "public.ecr.aws/nginx/nginx:1"]),
        desiredCount=0,
    )["service"]["serviceArn"]
    function_arn = lambda_client.create_function(
        FunctionName="fn", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{HOST}/fn@{fn}"}
    )["FunctionArn"]

    found = discover_in_use(
        RegistryRef(ACCOUNT, REGION), [EcsInUse(EcsInventory(ecs)), LambdaInUse(LambdaFunctions(lambda_client))]
    )

    assert found.by_repository == {
        "api": [InUseReference(usedBy=UsedBy(kind="ecs-service", id=service_arn, tag="v1"))],
        "fn": [InUseReference(imageDigest=fn, usedBy=UsedBy(kind="lambda-function", id=function_arn))],
    }
    assert found.ignored == 1 and found.failures == []
    resolved = resolve_in_use(found.by_repository["api"], {"v1": api}, {api})
    assert resolved.users == {api: [UsedBy(kind="ecs-service", id=service_arn, tag="v1")]} and resolved.gone == []

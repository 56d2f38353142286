"""The demo's registry: three repositories with really uploaded layers, and the request the demo sends.

Shared by ``make demo`` and the end-to-end tests so that both exercise the same, documented scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.seed import (
    DOCKER_FOREIGN_LAYER,
    OCI_LAYER,
    blob,
    create_repository,
    descriptor,
    digest_of,
    push_image,
    push_index,
    upload_layer,
)

REPOSITORY_LAYERS: dict[str, list[str]] = {
    "platform/base": [f"base-{i}" for i in range(60)],
    "team-a/api": [f"base-{i}" for i in range(30)] + [f"api-{i}" for i in range(40)],
    "team-b/worker": [f"base-{i}" for i in range(10)] + [f"worker-{i}" for i in range(20)],
}
MISSING_REPOSITORY = "team-c/ghost"
NEVER_UPLOADED = [f"never-pushed-{i}" for i in range(5)]
MALFORMED_DIGESTS = ["sha256:NOT-HEX", "md5:d41d8cd98f00b204e9800998ecf8427e", "latest"]

# The images ``make demo`` pushes (local/demo_events.py), for ``make serve``: a multi-arch index, a broken image (a
# layer that never made it, beside a foreign layer that is legitimately absent), and a small audited repository.
IMAGE_REPOSITORY = "team-a/api"
JOBS_REPOSITORY = "team-d/jobs"
COMPLETE_INDEX_TAG = "2.0"
BROKEN_TAG = "2.1-rc"
GC_ED = blob("gc-ed")  # the layer of team-d/jobs:monthly that garbage collection took (upload it to repair it)


@dataclass(frozen=True)
class DemoRequest:
    repository_names: list[str]
    layer_digests: list[str]

    def body(self) -> dict[str, Any]:
        return {"repositoryNames": self.repository_names, "layerDigests": self.layer_digests}


def seed_registry(ecr: Any) -> None:
    for repository, labels in REPOSITORY_LAYERS.items():
        create_repository(ecr, repository)
        for label in labels:
            upload_layer(ecr, repository, blob(label))


def demo_request() -> DemoRequest:
    """4 repositories (one missing) × 133 digests: 125 well-formed (5 never pushed), 3 malformed, 5 repeats."""
    labels = [f"base-{i}" for i in range(60)] + [f"api-{i}" for i in range(40)] + [f"worker-{i}" for i in range(20)]
    digests = [digest_of(blob(label)) for label in labels + NEVER_UPLOADED]
    digests = digests + MALFORMED_DIGESTS + digests[:5]
    return DemoRequest([*REPOSITORY_LAYERS, MISSING_REPOSITORY], digests)


@dataclass(frozen=True)
class SeededImages:
    """``repository:tag`` of each image pushed, by what a user should see when checking it."""

    complete: tuple[str, ...]
    broken: tuple[str, ...]
    digests: dict[str, str] = field(default_factory=dict)  # by ``repository:tag``


def seed_images(ecr: Any) -> SeededImages:
    """Push the demo's images over the seeded layers (``seed_registry`` first): the same tags, layers and faults."""
    amd64 = push_image(ecr, IMAGE_REPOSITORY, ["base-0", "base-1", "api-0"], platform="linux/amd64")
    arm64 = push_image(ecr, IMAGE_REPOSITORY, ["base-0", "base-1", "api-arm64"], platform="linux/arm64")
    index = push_index(ecr, IMAGE_REPOSITORY, [amd64, arm64], tag=COMPLETE_INDEX_TAG)
    never_pushed = descriptor(OCI_LAYER, blob("lost-in-transit"))
    foreign = descriptor(DOCKER_FOREIGN_LAYER, blob("windows-servercore"), urls=["https://mcr.microsoft.com/x"])
    broken = push_image(ecr, IMAGE_REPOSITORY, ["base-0"], tag=BROKEN_TAG, absent_layers=[never_pushed, foreign])
    create_repository(ecr, JOBS_REPOSITORY)
    nightly = push_image(ecr, JOBS_REPOSITORY, ["job-base", "nightly"], tag="nightly")
    weekly = push_image(ecr, JOBS_REPOSITORY, ["job-base", "weekly"], tag="weekly", docker=True)
    gc_ed = [descriptor(OCI_LAYER, GC_ED)]
    monthly = push_image(ecr, JOBS_REPOSITORY, ["job-base"], tag="monthly", absent_layers=gc_ed)
    return SeededImages(
        complete=(
            f"{IMAGE_REPOSITORY}:{COMPLETE_INDEX_TAG}",
            f"{JOBS_REPOSITORY}:nightly",
            f"{JOBS_REPOSITORY}:weekly",
        ),
        broken=(f"{IMAGE_REPOSITORY}:{BROKEN_TAG}", f"{JOBS_REPOSITORY}:monthly"),
        digests={
            f"{IMAGE_REPOSITORY}:{COMPLETE_INDEX_TAG}": index["digest"],
            f"{IMAGE_REPOSITORY}:{BROKEN_TAG}": broken["digest"],
            f"{JOBS_REPOSITORY}:nightly": nightly["digest"],
            f"{JOBS_REPOSITORY}:weekly": weekly["digest"],
            f"{JOBS_REPOSITORY}:monthly": monthly["digest"],
        },
    )


# -- images in use: an ECS service on the broken monthly job by tag, a Lambda function on a whole image by
# digest, and a Kubernetes cluster that reports the weekly job through POST /inventory --------------------------------

ECS_CLUSTER = "prod"
ECS_SERVICE = "monthly-report"
ECS_IMAGE = f"{JOBS_REPOSITORY}:monthly"
# moto's Lambda looks an image up by the last segment of its URI's path: a repository name without '/'.
LAMBDA_REPOSITORY = "thumbnailer"
LAMBDA_FUNCTION = "thumbnailer"
INVENTORY_SOURCE = "eks:prod"
INVENTORY_IMAGE = f"{JOBS_REPOSITORY}:weekly"
NOT_ECR_IMAGE = "docker.io/library/nginx:1.27"


def registry_host(account_id: str = LOCAL_ACCOUNT_ID, region: str = LOCAL_REGION) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


@dataclass(frozen=True)
class Workloads:
    service_arn: str
    service_image: str  # the image URI the task definition names (by tag)
    function_arn: str
    function_image: str  # the image URI the function was deployed from (by digest)
    inventory: dict[str, Any]  # the POST /inventory body


def seed_workloads(ecr: Any, ecs: Any, lambda_client: Any, iam: Any) -> Workloads:
    """Run images as workloads would (``seed_images`` first): clients of this account and Region."""
    create_repository(ecr, LAMBDA_REPOSITORY)
    function_digest = push_image(ecr, LAMBDA_REPOSITORY, ["python-base", "thumbnailer-1"], tag="v1")["digest"]
    service_image = f"{registry_host()}/{ECS_IMAGE}"
    ecs.create_cluster(clusterName=ECS_CLUSTER)
    definition = ecs.register_task_definition(
        family=ECS_SERVICE, containerDefinitions=[{"name": "report", "image": service_image, "memory": 256}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster=ECS_CLUSTER, serviceName=ECS_SERVICE, taskDefinition=definition, desiredCount=0
    )["service"]
    role = iam.create_role(RoleName=f"{LAMBDA_FUNCTION}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function_image = f"{registry_host()}/{LAMBDA_REPOSITORY}@{function_digest}"
    function = lambda_client.create_function(
        FunctionName=LAMBDA_FUNCTION, Role=role, PackageType="Image", Code={"ImageUri": function_image}
    )
    return Workloads(
        service_arn=service["serviceArn"],
        service_image=service_image,
        function_arn=function["FunctionArn"],
        function_image=function_image,
        inventory={"source": INVENTORY_SOURCE, "images": [f"{registry_host()}/{INVENTORY_IMAGE}", NOT_ECR_IMAGE]},
    )


# -- two accounts x two Regions with replication ----------------------------------------------------------

MEMBER_ACCOUNT = "111122223333"
OTHER_REGION = "eu-west-1"
REPLICATED_PREFIX = "team-e/"
REPLICATED_REPOSITORY = "team-e/web"
MEMBER_REPOSITORY = "team-a/api"  # the same name as this account's: keys keep them apart


def client_in(service: str, account_id: str, region: str) -> Any:
    """A client acting in ``account_id``: moto keys assumed-role credentials by the role's account, as the audit's
    ``sts:AssumeRole`` into the reader role does."""
    if account_id == LOCAL_ACCOUNT_ID:
        return boto3.client(service, region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/demo-setup", RoleSessionName="demo-setup"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@dataclass(frozen=True)
class Organization:
    replicas: dict[str, str]  # source tag -> what its copy in OTHER_REGION is: COMPLETE, BROKEN, MISSING
    digests: dict[str, str]  # source tag -> digest
    torn_layer: str  # the layer the BROKEN copy lacks
    member_broken: str  # digest of the member account's broken image in OTHER_REGION


def seed_organization(ecr_of: Callable[[str, str], Any] | None = None) -> Organization:
    """This account's home registry replicates ``team-e/`` to OTHER_REGION, where the copies are staged as ECR would
    have left them (moto replicates nothing): one whole, one missing a layer, one absent. The member account holds
    ``team-a/api`` in both Regions, broken in OTHER_REGION."""
    ecr_of = ecr_of or (lambda account, region: client_in("ecr", account, region))
    source, destination = ecr_of(LOCAL_ACCOUNT_ID, LOCAL_REGION), ecr_of(LOCAL_ACCOUNT_ID, OTHER_REGION)
    source.put_replication_configuration(
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [{"region": OTHER_REGION, "registryId": LOCAL_ACCOUNT_ID}],
                    "repositoryFilters": [{"filter": REPLICATED_PREFIX, "filterType": "PREFIX_MATCH"}],
                }
            ]
        }
    )
    create_repository(source, REPLICATED_REPOSITORY)
    create_repository(destination, REPLICATED_REPOSITORY)
    copies = {"1": "COMPLETE", "2": "BROKEN", "3": "MISSING"}
    digests: dict[str, str] = {}
    for tag, copy in copies.items():
        labels = ["web-base", f"web-{tag}"]
        digests[tag] = push_image(source, REPLICATED_REPOSITORY, labels, tag=tag)["digest"]
        if copy != "MISSING":
            lost = [f"web-{tag}"] if copy == "BROKEN" else []
            push_image(destination, REPLICATED_REPOSITORY, labels, tag=tag, not_uploaded=lost)
    member_home, member_other = ecr_of(MEMBER_ACCOUNT, LOCAL_REGION), ecr_of(MEMBER_ACCOUNT, OTHER_REGION)
    create_repository(member_home, MEMBER_REPOSITORY)
    push_image(member_home, MEMBER_REPOSITORY, ["base-0", "api-1"], tag="v1")
    create_repository(member_other, MEMBER_REPOSITORY)
    member_broken = push_image(
        member_other, MEMBER_REPOSITORY, ["base-0"], tag="v1", absent_layers=[descriptor(OCI_LAYER, blob("expired"))]
    )["digest"]
    return Organization(
        replicas=copies,
        digests=digests,
        torn_layer=descriptor(OCI_LAYER, blob("web-2"))["digest"],
        member_broken=member_broken,
    )

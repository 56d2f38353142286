"""The ECR and SQS integrations for images and audits, against botocore's Stubber: the exact requests matter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from layercheck.errors import RepositoryCheckError, WorkItemsNotQueuedError
from layercheck.integrations import audit_queue
from layercheck.integrations.audit_queue import AuditQueue
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.images import ACCEPTED_MEDIA_TYPES
from layercheck.models.audit import RepositoryWorkItem
from tests.support import offline_client

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/layercheck-audit"


def d(n: int) -> str:
    return f"sha256:{n:064x}"


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    ecr_client = offline_client("ecr")
    with Stubber(ecr_client) as stubber:
        yield ecr_client, stubber
        stubber.assert_no_pending_responses()


def test_batch_get_image_asks_for_every_manifest_media_type_in_calls_of_at_most_100(ecr: tuple[Any, Stubber]) -> None:
    ecr_client, stubber = ecr
    digests = [d(n) for n in range(101)]
    for chunk in (digests[:100], digests[100:]):
        stubber.add_response(
            "batch_get_image",
            {
                "images": [
                    {
                        "imageId": {"imageDigest": x},
                        "imageManifest": "{}",
                        "imageManifestMediaType": ACCEPTED_MEDIA_TYPES[0],
                    }
                    for x in chunk
                    if x != d(7)
                ],
                # moto, unlike ECR, does not echo the digest of a failed id: such a digest is reported not found too
                "failures": [{"imageId": {"imageTag": "null"}, "failureCode": "ImageNotFound", "failureReason": "x"}]
                if d(7) in chunk
                else [],
            },
            {
                "registryId": "123456789012",
                "repositoryName": "repo",
                "imageIds": [{"imageDigest": x} for x in chunk],
                "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
            },
        )

    answer = EcrRegistry(ecr_client).batch_get_image("123456789012", "repo", digests)

    assert len(answer.manifests) == 100
    assert answer.failures[d(7)].failure_code == "ImageNotFound"


def test_batch_get_image_errors_become_repository_errors(ecr: tuple[Any, Stubber]) -> None:
    ecr_client, stubber = ecr
    stubber.add_client_error("batch_get_image", "RepositoryNotFoundException", "no such repository")

    with pytest.raises(RepositoryCheckError) as raised:
        EcrRegistry(ecr_client).batch_get_image("123456789012", "repo", [d(1)])

    assert raised.value.code == "RepositoryNotFoundException"


def test_repositories_are_listed_across_every_page(ecr: tuple[Any, Stubber]) -> None:
    ecr_client, stubber = ecr

    def repository(name: str) -> dict[str, str]:
        return {"registryId": "123456789012", "repositoryName": name}

    stubber.add_response(
        "describe_repositories", {"repositories": [repository("team-a")], "nextToken": "t1"}, {"maxResults": 1000}
    )
    stubber.add_response(
        "describe_repositories", {"repositories": [repository("team-b")]}, {"maxResults": 1000, "nextToken": "t1"}
    )

    names = [r.repository_name for r in EcrRegistry(ecr_client).list_repositories()]

    assert names == ["team-a", "team-b"]


def test_image_details_carry_tags_and_ask_ecr_for_tagged_only(ecr: tuple[Any, Stubber]) -> None:
    ecr_client, stubber = ecr
    stubber.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": d(1), "imageTags": ["v1", "latest"]}]},
        {
            "registryId": "123456789012",
            "repositoryName": "repo",
            "maxResults": 1000,
            # archived images too (ECR lists ACTIVE ones only without imageStatus), and tagged only
            "filter": {"imageStatus": "ANY", "tagStatus": "TAGGED"},
        },
    )

    [detail] = EcrRegistry(ecr_client).list_image_details("123456789012", "repo", tagged_only=True)

    assert detail.image_tags == ("v1", "latest")


def test_describe_image_answers_none_for_an_image_gone(ecr: tuple[Any, Stubber]) -> None:
    ecr_client, stubber = ecr
    stubber.add_client_error("describe_images", "ImageNotFoundException", "gone")

    assert EcrRegistry(ecr_client).describe_image("123456789012", "repo", d(1)) is None


def _items(count: int) -> list[RepositoryWorkItem]:
    return [
        RepositoryWorkItem(auditId="a", registryId="123456789012", repositoryName=f"repo-{n}") for n in range(count)
    ]


def test_work_items_are_sent_in_batches_of_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_queue, "SEND_WORKERS", 1)  # one worker keeps the stubbed responses in order
    sqs = offline_client("sqs")
    items = _items(25)
    with Stubber(sqs) as stubber:
        for start, end in ((0, 10), (10, 20), (20, 25)):
            stubber.add_response(
                "send_message_batch",
                {
                    "Successful": [
                        {"Id": str(n), "MessageId": "m", "MD5OfMessageBody": "x"} for n in range(start, end)
                    ],
                    "Failed": [],
                },
                {
                    "QueueUrl": QUEUE_URL,
                    "Entries": [{"Id": str(n), "MessageBody": items[n].model_dump_json()} for n in range(start, end)],
                },
            )
        assert AuditQueue(QUEUE_URL, sqs, sleep=lambda _: None).send_work_items(items) == 25
        stubber.assert_no_pending_responses()


def test_entries_sqs_failed_are_resent_and_refused_ones_reported() -> None:
    sqs = offline_client("sqs")
    items = _items(3)
    entries = [{"Id": str(n), "MessageBody": items[n].model_dump_json()} for n in range(3)]
    with Stubber(sqs) as stubber:
        stubber.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "m", "MD5OfMessageBody": "x"}],
                "Failed": [
                    {"Id": "1", "SenderFault": False, "Code": "InternalError"},
                    {"Id": "2", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad"},
                ],
            },
            {"QueueUrl": QUEUE_URL, "Entries": entries},
        )
        stubber.add_response(
            "send_message_batch",
            {"Successful": [{"Id": "1", "MessageId": "m", "MD5OfMessageBody": "x"}], "Failed": []},
            {"QueueUrl": QUEUE_URL, "Entries": [entries[1]]},
        )

        with pytest.raises(WorkItemsNotQueuedError) as raised:
            AuditQueue(QUEUE_URL, sqs, sleep=lambda _: None).send_work_items(items)

    assert raised.value.failures == {2: "InvalidMessageContents: bad"}

"""The image routes' decoders, fed generated input: ``POST /images/checks`` and ``POST /inventory`` bodies and
``GET /images`` query strings, through the whole API door (``lambda_handler``). Each answers 200 or its mapped 4xx
with a JSON message, never a 5xx, for ``EXAMPLES`` inputs (1,000; ``LAYERCHECK_FUZZ_SCALE`` multiplies them).

The image check runs the real ``RequestedImages`` and ``ImageCheckService`` over a fake registry of our own ports (two
images in one repository, one of them broken), so that generated entries reach the tag resolution, the walk and the
store; the inventory over a fake store; the list over the results table in moto (in-process).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck.errors import RepositoryCheckError
from layercheck.handler import lambda_handler
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.check import BatchAnswer
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import OCI_MANIFEST, FetchedManifest, ManifestAnswer
from layercheck.logic.in_use import TagAnswer
from layercheck.logic.verdict_merge import ImageObservation, ImageWrite, merge
from layercheck.models.images_api import MAX_IMAGES_PER_CHECK, MAX_INVENTORY_URI_LENGTH
from layercheck.models.stored import StoredImageVerdict, StoredItem
from layercheck.models.verdicts import LayerAnswer, LayerFailure
from local.lambda_context import FakeLambdaContext
from tests.conftest import ApiEvent
from tests.fuzz.test_decoder_properties import (
    ACCOUNT,
    DIGEST,
    PROPERTY,
    Answers,
    any_text,
    content_types,
    forged_tokens,
    json_values,
    results_table_in_moto,
)
from tests.support import hand_services

__all__ = ["results_table_in_moto"]  # the GET /images property's fixture, shared with GET /results'

OTHER_ACCOUNT = "210987654321"  # a registry this deployment does not serve (REGISTRY_IDS unset: this account only)
REPOSITORY = "platform/base"


def digest_of(label: str) -> str:
    return "sha256:" + label.encode().hex().ljust(64, "0")[:64]


WHOLE, BROKEN = digest_of("whole"), digest_of("broken")
TAGS = {"v1": WHOLE, "v2": BROKEN}
LAYERS = {WHOLE: ("config-1", "base", "app-1"), BROKEN: ("config-2", "base", "gone")}  # "gone" was never uploaded
PRESENT_BLOBS = {digest_of(label) for label in ("config-1", "config-2", "base", "app-1")}


def manifest(config: str, *layers: str) -> str:
    blob = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1}
    return json.dumps(
        {
            "mediaType": OCI_MANIFEST,
            "config": {**blob, "digest": digest_of(config)},
            "layers": [{**blob, "digest": digest_of(layer)} for layer in layers],
        }
    )


@dataclass
class FakeRegistry:
    """One repository holding two images (v1 whole, v2 broken); every other repository does not exist. The ports
    ``RequestedImages`` and ``ImageCheckService`` read ECR through, answering as ECR does."""

    def _repository(self, repository_name: str) -> None:
        if repository_name != REPOSITORY:
            raise RepositoryCheckError(
                "RepositoryNotFoundException", f"The repository '{repository_name}' does not exist"
            )

    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        self._repository(repository_name)
        answer = TagAnswer()
        for tag in tags:
            if tag in TAGS:
                answer.digests[tag] = TAGS[tag]
            else:
                answer.missing[tag] = "ImageNotFoundException"
        return answer

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        self._repository(repository_name)
        tags = tuple(tag for tag, digest in TAGS.items() if digest == image_digest)
        return ImageDetail(image_digest, tags) if image_digest in LAYERS else None

    def batch_get_image(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> ManifestAnswer:
        self._repository(repository_name)
        return ManifestAnswer(
            manifests={d: FetchedManifest(d, manifest(*LAYERS[d])) for d in image_digests if d in LAYERS}
        )

    def batch_check_layer_availability(self, registry_id: str, repository_name: str, digests: list[str]) -> Any:
        self._repository(repository_name)
        present = [d for d in digests if d in PRESENT_BLOBS]
        return BatchAnswer(
            layers=[LayerAnswer(layerDigest=d, layerAvailability="AVAILABLE") for d in present],
            failures=[
                LayerFailure(layerDigest=d, failureCode="MissingLayerDigest", failureReason="not found")
                for d in digests
                if d not in PRESENT_BLOBS
            ],
        )


@dataclass
class MemoryStore:
    """The results table's write ports (layer verdicts, image verdicts merged as the table merges them) and the known
    verdicts port; remembers which image verdicts were stored."""

    image_digests: set[str] = field(default_factory=set)
    stored: set[tuple[str, str]] = field(default_factory=set)  # (repository, digest)

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        return len(items)

    def write_images(self, observations: Sequence[ImageObservation], *, stage_changes: bool = True) -> list[ImageWrite]:
        for verdict in (o.verdict for o in observations if o.verdict.imageDigest is not None):
            self.image_digests.add(str(verdict.imageDigest))
            self.stored.add((verdict.repositoryName, str(verdict.imageDigest)))
        return [ImageWrite(merge(None, observation, stage_changes=stage_changes)) for observation in observations]

    def clear_sent(self, verdict: StoredImageVerdict, change_ids: Sequence[str]) -> None:
        return None

    def has_verdict(self, registry_id: str, region: str, repository_name: str, reference: str) -> bool:
        return (repository_name, reference) in self.stored


@dataclass
class Served:
    """``registry_services.ServedRegistry``'s two parts the image route uses, over the fakes."""

    ecr: Any
    service: ImageCheckService

    def image_checks(self) -> ImageCheckService:
        return self.service


# -- POST /images/checks ------------------------------------------------------------------------------------------


@pytest.fixture
def images_over_fakes(aws_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    registry, store = FakeRegistry(), MemoryStore()

    def serve(registry_id: str, region: str) -> Served:
        service = ImageCheckService(
            registry=registry, manifests=registry, store=store, region=region, image_store=store, workers=2
        )
        return Served(registry, service)

    # Every registry the route reaches (this account's and, through the reader role, another Region's) is the fake.
    hand_services(monkeypatch, serve=serve, image_writes=store)
    return store


repository_names = st.one_of(st.sampled_from([REPOSITORY, "team-a/api", "a", "UPPER", "x" * 257]), any_text)
tags = st.one_of(st.sampled_from([*TAGS, "no-such-tag", "-v1", "a" * 301]), any_text)
digests = st.one_of(st.sampled_from([WHOLE, BROKEN, DIGEST, "sha256:xyz", "sha512:" + "b" * 128]), any_text)
regions = st.sampled_from(["us-east-1", "eu-west-1", "Europe", "qx-" + "-".join(["abcdefgh"] * 8) + "-41"])
any_entry = st.fixed_dictionaries(
    {},
    optional={
        "repositoryName": st.one_of(repository_names, json_values),
        "imageTag": st.one_of(tags, json_values),
        "imageDigest": st.one_of(digests, json_values),
        "extra": json_values,
    },
)
# Entries that pass the schema, so that generated input reaches the tag resolution, the walk and the store too.
valid_entry = st.builds(
    lambda repository, reference: {"repositoryName": repository, **reference},
    st.sampled_from([REPOSITORY, REPOSITORY, "team-a/api"]),
    st.one_of(
        st.sampled_from([*TAGS, "no-such-tag"]).map(lambda tag: {"imageTag": tag}),
        st.one_of(st.sampled_from([WHOLE, BROKEN]), st.from_regex(r"\Asha256:[0-9a-f]{64}\Z")).map(
            lambda digest: {"imageDigest": digest}
        ),
    ),
)
image_check_bodies = st.one_of(
    st.fixed_dictionaries(
        {"images": st.lists(valid_entry, min_size=1, max_size=6)},
        optional={"registryId": st.sampled_from([ACCOUNT, OTHER_ACCOUNT]), "region": regions},
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "images": st.one_of(st.lists(any_entry, max_size=4), json_values),
            "registryId": st.one_of(st.sampled_from([ACCOUNT, OTHER_ACCOUNT, "42"]), json_values),
            "region": st.one_of(regions, json_values),
            "other": json_values,
        },
    ),
    st.builds(lambda entry: {"images": [entry] * (MAX_IMAGES_PER_CHECK + 1)}, valid_entry),
)


def raw_bodies(bodies: st.SearchStrategy[Any]) -> st.SearchStrategy[str | bytes]:
    """The body as API Gateway hands it over: JSON of the bodies above or of anything, text, nesting, binary."""
    return st.one_of(
        bodies.map(json.dumps),
        json_values.map(json.dumps),
        st.text(max_size=80),
        st.just("[" * 5000),
        st.binary(max_size=60),
    )


def post(api_event: ApiEvent, path: str, body: str | bytes, content_type: str) -> dict[str, Any]:
    if isinstance(body, bytes):  # a body API Gateway passes base64-encoded (binary media types)
        event = api_event("POST", path, raw_body=base64.b64encode(body).decode())
        event["isBase64Encoded"] = True
    else:
        event = api_event("POST", path, raw_body=body)
    event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = content_type
    return lambda_handler(event, FakeLambdaContext())


def test_any_image_check_body_gets_a_200_or_a_mapped_4xx_and_stores_only_real_images(
    api_event: ApiEvent, images_over_fakes: MemoryStore
) -> None:
    answers = Answers()
    verdicts: Counter[str] = Counter()

    @PROPERTY
    @given(body=raw_bodies(image_check_bodies), content_type=content_types)
    def property_(body: str | bytes, content_type: str) -> None:
        response = post(api_event, "/images/checks", body, content_type)
        if answers.record(response) != 200:
            return
        # Then every image asked is answered, in order, and only images ECR holds were ever stored
        asked = json.loads(body)["images"]
        answer = json.loads(response["body"])
        assert len(answer["verdicts"]) == len(asked) == answer["summary"]["checked"]
        for entry, verdict in zip(asked, answer["verdicts"], strict=True):
            assert verdict["repositoryName"] == entry["repositoryName"]
            if "imageDigest" in entry:
                assert verdict["imageDigest"] == entry["imageDigest"]
            elif entry["repositoryName"] == REPOSITORY and entry["imageTag"] in TAGS:
                assert verdict["imageDigest"] == TAGS[entry["imageTag"]]
            else:  # a tag ECR does not hold: the image as asked, no digest
                assert "imageDigest" not in verdict and verdict["imageTags"] == [entry["imageTag"]]
            held = entry["repositoryName"] == REPOSITORY and verdict.get("imageDigest") in LAYERS
            assert ("stored" not in verdict) if held else (verdict["stored"] is False)
            verdicts[verdict["status"]] += 1
        assert images_over_fakes.image_digests <= set(LAYERS)

    property_()
    answers.report("POST /images/checks bodies")
    print(f"verdicts answered: {dict(verdicts)}")
    assert all(answers.statuses[status] > 0 for status in (200, 400, 403, 422))
    assert all(verdicts[status] > 0 for status in ("COMPLETE", "BROKEN", "UNCHECKED"))


# -- POST /inventory -----------------------------------------------------------------------------------------------


@dataclass
class MemoryInventory:
    """The inventory store's port: counts what was put (the bounds see an empty inventory)."""

    entries: int = 0

    def put_entries(self, entries: Sequence[Any]) -> None:
        self.entries += len(entries)

    def source_keys(self, source: str, registry_id: str, region: str) -> set[Any]:
        return set()

    def count_entries(self, registry_id: str, region: str) -> int:
        return 0


HOST = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
inventory_uris = st.one_of(
    st.sampled_from(
        [
            f"{HOST}/{REPOSITORY}:v1",
            f"{HOST}/{REPOSITORY}@{DIGEST}",
            f"{HOST}/{REPOSITORY}:v1@{DIGEST}",
            f"{OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/app:v1",  # a registry this deployment does not audit
            "docker.io/library/nginx:1.27",
            f"{HOST}/{REPOSITORY}@sha256:short",
            f"{ACCOUNT}.dkr.ecr.qx-{'a' * 70}-1.amazonaws.com/app:v1",
            "x" * (MAX_INVENTORY_URI_LENGTH + 1),
        ]
    ),
    st.builds(lambda path: f"{HOST}/{path}", st.text(max_size=40)),
    any_text,
)
inventory_bodies = st.one_of(
    st.fixed_dictionaries(
        {
            "source": st.sampled_from(["eks:prod", "k8s/prod", "on-prem.farm"]),
            "images": st.lists(inventory_uris, min_size=1, max_size=8),
        }
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "source": st.one_of(st.sampled_from(["eks:prod", "eks#prod", "", "s" * 129]), any_text, json_values),
            "images": st.one_of(st.lists(st.one_of(inventory_uris, json_values), max_size=4), json_values),
            "other": json_values,
        },
    ),
)


def test_any_inventory_body_gets_a_200_or_a_mapped_4xx(
    api_event: ApiEvent, aws_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryInventory()
    hand_services(monkeypatch, inventory=store)
    answers = Answers()

    @PROPERTY
    @given(body=raw_bodies(inventory_bodies), content_type=content_types)
    def property_(body: str | bytes, content_type: str) -> None:
        response = post(api_event, "/inventory", body, content_type)
        if answers.record(response) != 200:
            return
        # Then every reported string is accepted or ignored by its position, with a reason
        reported = json.loads(body)["images"]
        answer = json.loads(response["body"])
        assert 0 <= answer["accepted"] <= len(reported) - len(answer["ignored"])
        for ignored in answer["ignored"]:
            assert reported[ignored["index"]] == ignored["image"] and ignored["reason"]

    property_()
    answers.report("POST /inventory bodies")
    assert all(answers.statuses[status] > 0 for status in (200, 400, 422)) and store.entries > 0


# -- GET /images ---------------------------------------------------------------------------------------------------


image_query_names = st.sampled_from(["status", "repositoryName", "registryId", "region", "nextToken", "limit", "x"])
image_query_values = st.one_of(
    st.sampled_from(
        ["BROKEN", "UNCHECKED", "ARCHIVED", "COMPLETE", "broken", REPOSITORY, ACCOUNT, "us-east-1", "0", "100", "101"]
    ),
    forged_tokens,
    st.text(max_size=30),
)


@pytest.mark.usefixtures("results_table_in_moto")
def test_any_images_query_gets_a_200_or_a_mapped_4xx(api_event: ApiEvent) -> None:
    answers = Answers()
    context = FakeLambdaContext()

    @PROPERTY
    @given(
        query=st.one_of(
            st.dictionaries(image_query_names, image_query_values, max_size=4),
            st.fixed_dictionaries(
                {"status": st.sampled_from(["BROKEN", "UNCHECKED", "ARCHIVED"])},
                optional={
                    "nextToken": forged_tokens,
                    "registryId": st.sampled_from([ACCOUNT, OTHER_ACCOUNT]),
                    "region": st.sampled_from(["us-east-1", "eu-west-1"]),
                    "limit": st.sampled_from(["1", "50", "100"]),
                },
            ),
            st.fixed_dictionaries(
                {"repositoryName": st.sampled_from([REPOSITORY, "team-a/api"])},
                optional={"nextToken": forged_tokens, "region": st.sampled_from(["us-east-1", "eu-west-1"])},
            ),
        )
    )
    def property_(query: dict[str, str]) -> None:
        answers.record(lambda_handler(api_event("GET", "/images", query=query or None), context))

    property_()
    answers.report("GET /images query strings")
    assert all(answers.statuses[status] > 0 for status in (200, 400, 422))

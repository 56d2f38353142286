"""The inventory's items in the results table (POST /inventory): keys as plain constants, no imports, like
``results_table_schema.py``, so that the Lambda, the stack and local tooling read and write the same keys.

An inventory entry lives in the results table (no second table, no new index) as an item with
``itemType`` ``inventory`` and DynamoDB's TTL (``expiresAt``, ``INVENTORY_TTL_HOURS`` after the report):
- ``pk`` ``INVENTORY#<registryId>#<region>``: the audit of one registry reads its entries with one Query. It never
  meets a verdict's partition (``<registryId>#<repositoryName>`` starts with 12 digits).
- ``sk`` ``<source>#<repositoryName>:<tag>`` or ``<source>#<repositoryName>@<digest>``: the image reference as the URI
  writes it, so a source reporting the same image again overwrites its entry and refreshes its TTL.
Inventory items carry neither ``layerDigest`` nor the image status index's key, so no index holds them.
"""

INVENTORY_PARTITION_PREFIX = "INVENTORY#"
KEY_SEPARATOR = "#"


def inventory_partition(registry_id: str, region: str) -> str:
    return f"{INVENTORY_PARTITION_PREFIX}{registry_id}{KEY_SEPARATOR}{region}"


def inventory_sort_key(source: str, repository_name: str, image_tag: str | None, image_digest: str | None) -> str:
    """By digest when there is one (a URI naming both is pulled by digest), else by tag."""
    reference = f"@{image_digest}" if image_digest else f":{image_tag}"
    return f"{source}{KEY_SEPARATOR}{repository_name}{reference}"


# -- what the audit discovered in use, handed from a registry's audit to each repository's ----------------------------
# A registry's audit writes the references it found to each repository (``logic/in_use.py``) under
# ``pk`` ``INUSE#<registryId>#<region>#<repositoryName>``, ``sk`` ``<auditId>#<chunk>`` (chunks of at most
# ``IN_USE_CHUNK_BYTES`` of JSON in the attribute ``references``), and the repository's work item reads them back
# however many there are: no SQS message limit can hide an image in use. The items expire (TTL) after
# ``IN_USE_TTL_HOURS``; they never meet a verdict's or an inventory entry's partition.
IN_USE_PARTITION_PREFIX = "INUSE#"
IN_USE_ITEM_TYPE = "inUseReferences"
IN_USE_REFERENCES_ATTRIBUTE = "references"
IN_USE_CHUNK_BYTES = 300 * 1024  # DynamoDB items hold 400 KB
IN_USE_TTL_HOURS = 96  # SQS keeps a work item 4 days at most


def in_use_partition(registry_id: str, region: str, repository_name: str) -> str:
    return f"{IN_USE_PARTITION_PREFIX}{registry_id}{KEY_SEPARATOR}{region}{KEY_SEPARATOR}{repository_name}"


def in_use_sort_key(audit_id: str, chunk: int) -> str:
    return f"{audit_id}{KEY_SEPARATOR}{chunk:05d}"


# -- what each image's manifests reach, read once (``logic/manifest_memory.py``) --------------------------------------
# ``pk`` ``MANIFESTS#<registryId>#<region>#<repositoryName>``, ``sk`` the image digest; ``blobs`` and ``skipped``: the
# digests its whole walk reached (lists of strings). A digest's manifest never changes, so an item is never rewritten;
# it expires (TTL) ``MANIFEST_TTL_DAYS`` after it was written, which bounds what deleted images leave behind, and is
# then read from ECR again once. No index holds these items.
MANIFEST_PARTITION_PREFIX = "MANIFESTS#"
MANIFEST_ITEM_TYPE = "manifestWalk"
MANIFEST_BLOBS_ATTRIBUTE = "blobs"
MANIFEST_SKIPPED_ATTRIBUTE = "skipped"
MANIFEST_TTL_DAYS = 90


def manifest_partition(registry_id: str, region: str, repository_name: str) -> str:
    return f"{MANIFEST_PARTITION_PREFIX}{registry_id}{KEY_SEPARATOR}{region}{KEY_SEPARATOR}{repository_name}"

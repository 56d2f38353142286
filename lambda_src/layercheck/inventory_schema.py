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

INVENTORY_ITEM_TYPE = "inventory"
INVENTORY_PARTITION_PREFIX = "INVENTORY#"
KEY_SEPARATOR = "#"


def inventory_partition(registry_id: str, region: str) -> str:
    return f"{INVENTORY_PARTITION_PREFIX}{registry_id}{KEY_SEPARATOR}{region}"


def inventory_sort_key(source: str, repository_name: str, image_tag: str | None, image_digest: str | None) -> str:
    """By digest when there is one (a URI naming both is pulled by digest), else by tag."""
    reference = f"@{image_digest}" if image_digest else f":{image_tag}"
    return f"{source}{KEY_SEPARATOR}{repository_name}{reference}"

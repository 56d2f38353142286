"""The results table's image write as one UpdateItem (``ResultsTable.put_image_verdicts`` sends it).

An image verdict replaces the stored one attribute by attribute in a single atomic write: SET for every attribute the
new verdict has, REMOVE for every optional attribute it lacks (so nothing of the old verdict lingers: a recovered
image drops ``imageStatus`` and leaves the sparse ``byImageStatus`` index, a judged image drops its old
``failureCode``), and, when the caller is not the audit (a push or API check), no touch of what only the audit finds
out, ``usedBy`` and ``replicas``: such a check must neither erase them nor race the audit that writes them.
``ReturnValues=ALL_OLD`` gives the item before the write: its ``status`` decides the change event, its ``usedBy`` is
what the kept attribute still says.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
"""

from __future__ import annotations

from typing import Any

from layercheck.models.stored import StoredImageVerdict
from layercheck.results_table_schema import (
    IMAGE_STATUS_INDEX_PARTITION_KEY,
    IMAGE_STATUS_INDEX_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
)

USED_BY_ATTRIBUTE = "usedBy"
# What only the audit finds out (who runs the image, whether its replicas are whole): kept by other checks.
AUDIT_FINDINGS = (USED_BY_ATTRIBUTE, "usedByOmitted", "replicas")
# Every attribute an image item can hold besides its key: the verdict's fields and the status index's keys.
IMAGE_ATTRIBUTES = (*StoredImageVerdict.model_fields, IMAGE_STATUS_INDEX_PARTITION_KEY, IMAGE_STATUS_INDEX_SORT_KEY)


def image_update_arguments(table_name: str, item: dict[str, Any], *, keep_audit_findings: bool) -> dict[str, Any]:
    """UpdateItem's arguments that leave exactly ``item`` (an image item in DynamoDB's JSON, key included) stored,
    except the audit's findings (``usedBy``, ``replicas``), which stay as stored when ``keep_audit_findings``."""
    attributes = {name: value for name, value in item.items() if name not in (PARTITION_KEY, SORT_KEY)}
    untouched = set(AUDIT_FINDINGS) if keep_audit_findings else set()
    to_set = [name for name in attributes if name not in untouched]
    to_remove = [name for name in IMAGE_ATTRIBUTES if name not in attributes and name not in untouched]
    # Every name through a placeholder: "status" and others are DynamoDB reserved words.
    names = {f"#a{n}": name for n, name in enumerate([*to_set, *to_remove])}
    placeholder = {name: alias for alias, name in names.items()}
    expression = "SET " + ", ".join(f"{placeholder[name]} = :v{n}" for n, name in enumerate(to_set))
    if to_remove:
        expression += " REMOVE " + ", ".join(placeholder[name] for name in to_remove)
    return {
        "TableName": table_name,
        "Key": {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {f":v{n}": attributes[name] for n, name in enumerate(to_set)},
        "ReturnValues": "ALL_OLD",
    }

"""``--generate-cli-skeleton``: ``input`` (JSON, byte for byte the AWS CLI's), ``yaml-input`` (the AWS CLI v2's YAML
with a comment per member) and ``output`` (a sample answer, after validating the command's parameters)."""

from __future__ import annotations

import html
import json
import re
from typing import Any, TextIO

from botocore.model import OperationModel, Shape, StructureShape
from botocore.utils import ArgumentGenerator

from layercheck_cli.formatters import json_default

_TAG = re.compile(r"<[^>]+>")
_PARAGRAPH_END = re.compile(r"</p>", re.IGNORECASE)


def input_skeleton(operation: OperationModel) -> dict[str, Any]:
    shape = operation.input_shape
    return ArgumentGenerator().generate_skeleton(shape) if shape is not None else {}


def output_skeleton(operation: OperationModel) -> dict[str, Any]:
    shape = operation.output_shape
    return ArgumentGenerator(use_member_names=True).generate_skeleton(shape) if shape is not None else {}


def write_input_skeleton(operation: OperationModel, out: TextIO) -> None:
    out.write(json.dumps(input_skeleton(operation), indent=4, default=json_default))
    out.write("\n")


def _doc_overview(shape: Shape) -> str:
    """The first paragraph of a member's documentation, as plain text on one line."""
    documentation = str(getattr(shape, "documentation", "") or "")
    first = _PARAGRAPH_END.split(documentation, maxsplit=1)[0]
    return " ".join(html.unescape(_TAG.sub("", first)).split())


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "false" if not value else "true"
    if isinstance(value, int | float):
        return str(value)
    return "''" if value == "" else json.dumps(value)


def write_yaml_input_skeleton(operation: OperationModel, out: TextIO) -> None:
    """Top-level members, each with ``# [REQUIRED] <doc>`` as an end-of-line comment, as the AWS CLI v2 prints them.

    The ECR input is flat (strings and a list of strings), which is all this writer needs to cover.
    """
    shape = operation.input_shape
    if not isinstance(shape, StructureShape):
        out.write("{}\n")
        return
    skeleton = input_skeleton(operation)
    for name, member in shape.members.items():
        parts = ["[REQUIRED]"] if name in shape.required_members else []
        overview = _doc_overview(member)
        if overview:
            parts.append(overview)
        enum = getattr(member, "enum", None)
        if enum:
            parts.append("Valid values are: {}.".format(", ".join(enum)))
        comment = f" # {' '.join(parts)}" if parts else ""
        value = skeleton.get(name)
        if isinstance(value, list):
            out.write(f"{name}:{comment}\n")
            for item in value:
                out.write(f"- {_yaml_scalar(item)}\n")
        elif isinstance(value, dict):
            out.write(f"{name}: {{}}{comment}\n")
        else:
            out.write(f"{name}: {_yaml_scalar(value)}{comment}\n")

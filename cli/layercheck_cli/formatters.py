"""Output renderers: ``json``, ``text`` and ``table`` byte for byte as the AWS CLI v1 prints them when stdout is not a
terminal, ``yaml`` and ``yaml-stream`` in the AWS CLI v2's format.

Each renderer mirrors the AWS CLI's formatter (``awscli/formatter.py``, ``awscli/text.py``) so that the same answer
prints the same bytes; the ``--query`` expression is applied first, as the AWS CLI does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

import yaml

from layercheck_cli.table import AutoResetStream, ColorizedStyler, MultiTable, Styler, Writable, terminal_width

OUTPUT_FORMATS = ("json", "text", "table", "yaml", "yaml-stream")
COLOR_CHOICES = ("on", "off", "auto")

Query = Callable[[Any], Any]


def json_default(value: object) -> str:
    """The AWS CLI's JSON encoder: timestamps as ISO 8601, bytes as base64."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("utf-8")
    raise TypeError("Encountered unrecognized type in JSON encoder.")


def without_response_metadata(response: Any) -> Any:
    if isinstance(response, dict) and "ResponseMetadata" in response:
        response = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    return response


def render(
    response: Any,
    *,
    output: str,
    command_name: str,
    query: Query | None = None,
    color: str = "auto",
    stream: TextIO | None = None,
) -> None:
    """Print ``response`` in ``output`` format on ``stream`` (stdout by default)."""
    out: TextIO = stream if stream is not None else sys.stdout
    data = without_response_metadata(response)
    if query is not None:
        data = query(data)
    try:
        if output == "json":
            _render_json(data, out)
        elif output == "text":
            format_text(data, out)
        elif output == "table":
            _render_table(command_name, data, out, color)
        elif output == "yaml":
            _render_yaml(data, out)
        elif output == "yaml-stream":
            _render_yaml([data], out)
        else:
            raise ValueError(f"Unknown output type: {output}")
    except BrokenPipeError:  # the reader went away (``| head``): nothing left to say
        pass
    finally:
        with contextlib.suppress(OSError):
            out.flush()


def _render_json(data: Any, out: TextIO) -> None:
    # An empty answer prints nothing, other falsy values (null, [], "") print as JSON, like the AWS CLI.
    if data != {}:
        json.dump(data, out, indent=4, default=json_default, ensure_ascii=False)
        out.write("\n")


class _YamlDumper(yaml.SafeDumper):
    pass


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime.datetime) -> yaml.Node:
    return dumper.represent_str(value.isoformat())


_YamlDumper.add_representer(datetime.datetime, _represent_datetime)


def _render_yaml(data: Any, out: TextIO) -> None:
    # The AWS CLI v2 dumps with ruamel's safe dumper, block style: keys sorted, lists not indented under their key.
    if data != {}:
        yaml.dump(data, out, Dumper=_YamlDumper, default_flow_style=False, allow_unicode=True, sort_keys=True)


# --- text -----------------------------------------------------------------------------------------------------------


def format_text(data: Any, out: Writable) -> None:
    """The AWS CLI's ``--output text``: one tab-separated line per object, scalar keys sorted, nested lists prefixed
    with their upper-cased key."""
    _format_text(data, out)


def _format_text(item: Any, out: Writable, identifier: str | None = None, scalar_keys: list[str] | None = None) -> None:
    if isinstance(item, dict):
        _format_dict(scalar_keys, item, identifier, out)
    elif isinstance(item, list):
        _format_list(item, identifier, out)
    else:
        out.write(str(item))
        out.write("\n")


def _format_list(item: list[Any], identifier: str | None, out: Writable) -> None:
    if not item:
        return
    if any(isinstance(element, dict) for element in item):
        all_keys = _all_scalar_keys(item)
        for element in item:
            _format_text(element, out, identifier=identifier, scalar_keys=all_keys)
    elif any(isinstance(element, list) for element in item):
        scalars = [element for element in item if not isinstance(element, list | dict)]
        non_scalars = [element for element in item if isinstance(element, list | dict)]
        if scalars:
            _format_scalar_list(scalars, identifier, out)
        for non_scalar in non_scalars:
            _format_text(non_scalar, out, identifier=identifier)
    else:
        _format_scalar_list(item, identifier, out)


def _format_scalar_list(elements: list[Any], identifier: str | None, out: Writable) -> None:
    if identifier is not None:
        for element in elements:
            out.write(f"{identifier.upper()}\t{element}\n")
    else:
        out.write("\t".join(str(element) for element in elements))
        out.write("\n")


def _format_dict(scalar_keys: list[str] | None, item: dict[str, Any], identifier: str | None, out: Writable) -> None:
    scalars, non_scalars = _partition_dict(item, scalar_keys)
    if scalars:
        if identifier is not None:
            scalars.insert(0, identifier.upper())
        out.write("\t".join(scalars))
        out.write("\n")
    for new_identifier, non_scalar in non_scalars:
        _format_text(non_scalar, out, identifier=new_identifier)


def _all_scalar_keys(list_of_dicts: list[Any]) -> list[str]:
    keys: set[str] = set()
    for element in list_of_dicts:
        if isinstance(element, dict):
            keys.update(key for key, value in element.items() if not isinstance(value, dict | list))
    return sorted(keys)


def _partition_dict(item: dict[str, Any], scalar_keys: list[str] | None) -> tuple[list[str], list[tuple[str, Any]]]:
    scalars: list[str] = []
    non_scalars: list[tuple[str, Any]] = []
    if scalar_keys is None:
        for key, value in sorted(item.items()):
            if isinstance(value, dict | list):
                non_scalars.append((key, value))
            else:
                scalars.append(str(value))
    else:
        scalars = [str(item.get(key, "")) for key in scalar_keys]
        non_scalars = [(key, item[key]) for key in sorted(set(item) - set(scalar_keys))]
    return scalars, non_scalars


# --- table ----------------------------------------------------------------------------------------------------------


def _render_table(command_name: str, data: Any, out: TextIO, color: str) -> None:
    colorize = color == "on" or (color == "auto" and _is_a_tty(out))
    styler: Styler = ColorizedStyler() if colorize else Styler()
    builder = _TableBuilder(MultiTable(styler, width=terminal_width(out)))
    if builder.build(command_name, data):
        target: Writable = AutoResetStream(out) if colorize else out
        builder.table.render(target)


def _is_a_tty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, list | dict)


class _TableBuilder:
    """The AWS CLI's ``TableFormatter._build_table``: a section per object, headers from its scalar keys (sorted), a
    nested section per non-scalar key."""

    def __init__(self, table: MultiTable) -> None:
        self.table = table

    def build(self, title: str | None, current: Any, indent_level: int = 0) -> bool:
        if not current:
            return False
        if title is not None:
            self.table.new_section(title, indent_level=indent_level)
        if isinstance(current, list):
            if isinstance(current[0], dict):
                self._from_list(current, indent_level, title)
            else:
                for item in current:
                    if _is_scalar(item):
                        self.table.add_row([item])
                    elif all(_is_scalar(element) for element in item):
                        self.table.add_row(list(item))
                    else:
                        self.build(title=None, current=item)
        if isinstance(current, dict):
            self._from_dict(current, indent_level)
        return True

    def _from_dict(self, current: dict[str, Any], indent_level: int) -> None:
        headers, more = _group_scalar_keys(current)
        if len(headers) == 1:
            self.table.add_row([headers[0], current[headers[0]]])
        elif headers:
            self.table.add_row_header(headers)
            self.table.add_row([current[key] for key in headers])
        for remaining in more:
            self.build(remaining, current[remaining], indent_level=indent_level + 1)

    def _from_list(self, current: list[Any], indent_level: int, title: str | None) -> None:
        header_set: set[str] = set()
        more_set: set[str] = set()
        for element in current:
            element_headers, element_more = _group_scalar_keys(element)
            header_set.update(element_headers)
            more_set.update(element_more)
        headers, more = sorted(header_set), sorted(more_set)
        self.table.add_row_header(headers)
        first = True
        for element in current:
            if not first and more:
                self.table.new_section(title or "", indent_level=indent_level)
                self.table.add_row_header(headers)
            first = False
            self.table.add_row([element.get(header, "") for header in headers])
            for remaining in more:
                if remaining in element:
                    self.build(remaining, element[remaining], indent_level=indent_level + 1)


def _group_scalar_keys(current: Any) -> tuple[list[str], list[str]]:
    headers = sorted(key for key in current if _is_scalar(current[key]))
    more = sorted(key for key in current if not _is_scalar(current[key]))
    return headers, more

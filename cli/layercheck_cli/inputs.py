"""Where parameter values come from: the command line, ``file://`` references, stdin, and ``--cli-input-json`` /
``--cli-input-yaml`` documents, with the AWS CLI's precedence (explicit options override the input document)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import yaml

from layercheck_cli.errors import CliError

FILE_PREFIX = "file://"
STDIN = "-"
DIGEST_PREFIX = "sha256:"  # a value that starts like a digest is not looked up on disk (100,000 digests, no stat)


class ParamError(CliError):
    """The AWS CLI's ``ParamError``: ``Error parsing parameter '<name>': <message>``."""

    def __init__(self, cli_name: str, message: str) -> None:
        super().__init__(f"Error parsing parameter '{cli_name}': {message}")
        self.cli_name = cli_name
        self.message = message


class ResourceLoadingError(CliError):
    pass


def load_file_reference(value: str) -> str | None:
    """The contents of a ``file://`` reference (``~`` and ``$VARS`` expanded), or ``None`` when ``value`` is not one."""
    if not value.startswith(FILE_PREFIX):
        return None
    path = os.path.expandvars(os.path.expanduser(value[len(FILE_PREFIX) :]))
    try:
        with open(path, encoding=None) as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise ResourceLoadingError(
            f"Unable to load paramfile ({path}), text contents could not be decoded.  If this is a binary file, "
            "please use the fileb:// prefix instead of the file:// prefix."
        ) from error
    except OSError as error:
        raise ResourceLoadingError(f"Unable to load paramfile {value}: {error}") from error


def scalar_parameter(cli_name: str, value: str | None) -> str | None:
    """A string option's value, read from the file when given as ``file://path`` (as the AWS CLI does)."""
    if value is None:
        return None
    try:
        loaded = load_file_reference(value)
    except ResourceLoadingError as error:
        raise ParamError(cli_name, str(error)) from error
    return value if loaded is None else loaded


def parse_digest_document(text: str, source: str) -> list[str]:
    """Digests from a file or stdin: a JSON list (``["sha256:…", …]``, as the AWS CLI accepts), or one digest per line
    (blank lines and ``#`` comments skipped; surrounding whitespace ignored)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            loaded = json.loads(stripped)
        except ValueError as error:
            raise ParamError("--layer-digests", f"Invalid JSON: {error}\nJSON received: {stripped}") from error
        if not isinstance(loaded, list) or not all(isinstance(item, str) for item in loaded):
            raise ParamError("--layer-digests", f"expected a JSON list of strings in {source}")
        return loaded
    digests: list[str] = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        digests.extend(entry.split())
    return digests


def expand_layer_digests(values: Sequence[str] | None, stdin: TextIO | None = None) -> list[str] | None:
    """``--layer-digests`` values with ``file://path`` and ``-`` (stdin) expanded in place; ``None`` when not given.

    A single value that is a JSON list is read as one, like the AWS CLI does; any other value is a digest, sent as is
    (a malformed one comes back as ``InvalidLayerDigest``).
    """
    if values is None:
        return None
    if len(values) == 1 and values[0].strip().startswith("["):
        return parse_digest_document(values[0], "--layer-digests")
    digests: list[str] = []
    for value in values:
        if value == STDIN:
            digests.extend(parse_digest_document((stdin or sys.stdin).read(), "stdin"))
            continue
        try:
            loaded = load_file_reference(value)
        except ResourceLoadingError as error:
            raise ParamError("--layer-digests", str(error)) from error
        if loaded is None:
            if not value.startswith(DIGEST_PREFIX):
                warn_if_file(value)
            digests.append(value)
        else:
            digests.extend(parse_digest_document(loaded, value))
    return digests


def warn_if_file(value: str, stderr: TextIO | None = None) -> None:
    """A digest that names an existing file was most likely meant as ``file://value``: say so on stderr (the value
    is still sent as given, so that the answer stays the AWS CLI's)."""
    if os.path.isfile(value):
        (stderr or sys.stderr).write(
            f"layercheck: warning: --layer-digests value {value!r} is an existing file but is sent as a digest; "
            f"to read digests from it, write {FILE_PREFIX}{value}\n"
        )


def load_cli_input(cli_input_json: str | None, cli_input_yaml: str | None) -> dict[str, Any]:
    """The parameters of ``--cli-input-json`` or ``--cli-input-yaml`` (a string or ``file://path``), else ``{}``."""
    if cli_input_json is not None and cli_input_yaml is not None:
        raise CliError("Only one --cli-input- parameter may be specified.")
    if cli_input_json is not None:
        document = scalar_parameter("--cli-input-json", cli_input_json) or ""
        try:
            loaded: Any = json.loads(document)
        except ValueError as error:
            raise ParamError("cli-input-json", f"Invalid JSON: {error}\nJSON received: {document}") from error
    elif cli_input_yaml is not None:
        document = scalar_parameter("--cli-input-yaml", cli_input_yaml) or ""
        try:
            loaded = yaml.safe_load(document)
        except yaml.YAMLError as error:
            raise ParamError("cli-input-yaml", f"Invalid YAML: {error}\nYAML received: {document}") from error
        if loaded is None:
            loaded = {}
    else:
        return {}
    if not isinstance(loaded, dict):
        name = "cli-input-json" if cli_input_json is not None else "cli-input-yaml"
        raise ParamError(name, "Invalid type: the input must be an object of parameters")
    return loaded


def merge_cli_input(call_parameters: dict[str, Any], cli_input: dict[str, Any]) -> dict[str, Any]:
    """Add the document's members that the command line did not set: explicit options win."""
    merged = dict(call_parameters)
    for key, value in cli_input.items():
        merged.setdefault(key, value)
    return merged

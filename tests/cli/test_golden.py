"""Same moto server, same arguments: ``layercheck batch-check-layer-availability`` prints what ``aws ecr
batch-check-layer-availability`` (AWS CLI v1) prints, byte for byte, and exits with the same code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import MISSING_DIGEST, Registry, run_both

# Each case: the arguments after the command; {app}, {d1}, {d2}, {missing} are filled in from the seeded registry.
GOLDEN_CASES = {
    "json": ["--repository-name", "app", "--layer-digests", "{d1}", "{d2}", "{missing}", "bad"],
    "text": ["--repository-name", "app", "--layer-digests", "{d1}", "{d2}", "{missing}", "bad", "--output", "text"],
    "table": ["--repository-name", "app", "--layer-digests", "{d1}", "{d2}", "{missing}", "bad", "--output", "table"],
    "table_color_on": ["--repository-name", "app", "--layer-digests", "{d1}", "--output", "table", "--color", "on"],
    "table_vertical": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "--output",
        "table",
        "--query",
        "layers[0]",
    ],
    "query_codes_text": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "{missing}",
        "bad",
        "--output",
        "text",
        "--query",
        "failures[].failureCode",
    ],
    "query_codes_table": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "{missing}",
        "--output",
        "table",
        "--query",
        "failures[].failureCode",
    ],
    "query_projection_table": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "{d2}",
        "--output",
        "table",
        "--query",
        "layers[].[layerDigest,layerSize]",
    ],
    "query_multiselect_text": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "--output",
        "text",
        "--query",
        "layers[0].{d:layerDigest,s:layerSize}",
    ],
    "query_scalar_json": ["--repository-name", "app", "--layer-digests", "{d1}", "{d2}", "--query", "length(layers)"],
    "query_null_json": ["--repository-name", "app", "--layer-digests", "{d1}", "--query", "nothing"],
    "query_null_text": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "--query",
        "nothing",
        "--output",
        "text",
    ],
    "malformed_digest": ["--repository-name", "app", "--layer-digests", "bad", "sha256:XYZ"],
    "registry_id": ["--registry-id", "123456789012", "--repository-name", "app", "--layer-digests", "{d1}"],
    "skeleton_output": ["--repository-name", "app", "--layer-digests", "{d1}", "--generate-cli-skeleton", "output"],
    "skeleton_output_table": [
        "--repository-name",
        "app",
        "--layer-digests",
        "{d1}",
        "--generate-cli-skeleton",
        "output",
        "--output",
        "table",
    ],
}

ERROR_CASES = {
    # Service and parameter errors: same stderr, exit 255.
    "missing_repository": ["--repository-name", "nope", "--layer-digests", "{d1}"],
    "empty_digest_list": ["--repository-name", "app", "--layer-digests"],
    "wrong_registry": ["--registry-id", "000000000000", "--repository-name", "app", "--layer-digests", "{d1}"],
    "bad_query": ["--repository-name", "app", "--layer-digests", "{d1}", "--query", "[[["],
    "bad_endpoint": ["--repository-name", "app", "--layer-digests", "{d1}", "--endpoint-url", "no-scheme"],
    "cli_input_missing_file": ["--cli-input-json", "file://does-not-exist.json"],
    "cli_input_invalid_json": ["--cli-input-json", "{not json"],
    "cli_input_unknown_key": ["--cli-input-json", '{"repositoryName": "app", "layerDigests": ["{d1}"], "extra": 1}'],
}


def _fill(args: list[str], registry: Registry) -> list[str]:
    d1, d2 = registry.digests
    filled = [arg.replace("{d1}", d1).replace("{d2}", d2).replace("{missing}", MISSING_DIGEST) for arg in args]
    if "--endpoint-url" not in filled:
        filled += ["--endpoint-url", registry.endpoint_url]
    return filled


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_output_matches_aws_cli(case: str, registry: Registry, cli_env: dict[str, str]) -> None:
    aws, ours = run_both(_fill(GOLDEN_CASES[case], registry), cli_env)

    assert aws.returncode == 0, aws.stderr
    assert ours.stdout == aws.stdout
    assert ours.returncode == aws.returncode
    assert ours.stderr == aws.stderr == b""


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_match_aws_cli(case: str, registry: Registry, cli_env: dict[str, str], tmp_path: Path) -> None:
    aws, ours = run_both(_fill(ERROR_CASES[case], registry), cli_env, cwd=tmp_path)

    assert aws.returncode == 255
    assert (ours.returncode, ours.stdout, ours.stderr) == (aws.returncode, aws.stdout, aws.stderr)


def test_generate_cli_skeleton_input_matches_aws_cli(cli_env: dict[str, str]) -> None:
    for variant in (["--generate-cli-skeleton"], ["--generate-cli-skeleton", "input"]):
        aws, ours = run_both(variant, cli_env)

        assert (ours.returncode, ours.stdout) == (aws.returncode, aws.stdout) == (0, aws.stdout)
        assert json.loads(ours.stdout) == {"registryId": "", "repositoryName": "", "layerDigests": [""]}


def test_cli_input_json_file_matches_aws_cli(registry: Registry, cli_env: dict[str, str], tmp_path: Path) -> None:
    d1, _ = registry.digests
    (tmp_path / "input.json").write_text(json.dumps({"repositoryName": "app", "layerDigests": [d1, MISSING_DIGEST]}))

    for extra in ([], ["--output", "table"], ["--layer-digests", "bad"], ["--repository-name", "nope"]):
        args = ["--cli-input-json", "file://input.json", "--endpoint-url", registry.endpoint_url, *extra]
        aws, ours = run_both(args, cli_env, cwd=tmp_path)

        assert (ours.returncode, ours.stdout, ours.stderr) == (aws.returncode, aws.stdout, aws.stderr), extra


def test_no_region_matches_aws_cli(registry: Registry, cli_env: dict[str, str]) -> None:
    env = {key: value for key, value in cli_env.items() if key != "AWS_DEFAULT_REGION"}
    aws, ours = run_both(_fill(["--repository-name", "app", "--layer-digests", "{d1}"], registry), env)

    assert (ours.returncode, ours.stdout, ours.stderr) == (aws.returncode, aws.stdout, aws.stderr)
    assert ours.stderr.startswith(b"You must specify a region.")


@pytest.mark.parametrize(
    ("args", "expected_code"),
    [
        (["--repository-name", "app"], 2),  # required option missing: argparse's exit code
        ([], 2),
        (["--repository-name", "app", "--layer-digests", "{d1}", "--output", "xml"], 2),
        (["--repository-name", "app", "--layer-digests", "{d1}", "--bogus"], 255),  # unknown option
    ],
)
def test_usage_errors_exit_like_aws_cli(
    args: list[str], expected_code: int, registry: Registry, cli_env: dict[str, str]
) -> None:
    aws, ours = run_both(_fill(args, registry), cli_env)

    assert aws.returncode == ours.returncode == expected_code
    assert ours.stdout == aws.stdout == b""
    # Same error line, our program's name in place of the AWS CLI's.
    aws_error = next(line for line in aws.stderr.splitlines() if b"error:" in line or line.startswith(b"Unknown"))
    assert aws_error.replace(b"aws: ", b"layercheck: ") in ours.stderr.splitlines()

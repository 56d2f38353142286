"""What layercheck adds to the AWS CLI's command: several repositories, digests from files and stdin, the CI gate,
YAML output. Run in-process (``main([...])``) against the session's moto server, plus the installed binary for stdin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from layercheck_cli.main import EXIT_ERROR, EXIT_NOT_AVAILABLE, EXIT_OK, main
from tests.cli.conftest import LAYERCHECK, MISSING_DIGEST, Registry, run


def layercheck(registry: Registry, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["batch-check-layer-availability", "--endpoint-url", registry.endpoint_url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.usefixtures("env")
def test_repository_names_prints_the_api_shape(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    d1, d2 = registry.digests

    code, out, _ = layercheck(registry, capsys, "--repository-names", "app", "base", "--layer-digests", d1, d2, "bad")

    answer = json.loads(out)
    assert code == EXIT_OK
    assert list(answer) == ["results", "summary"]
    app, base = answer["results"]
    assert (app["registryId"], app["repositoryName"]) == ("123456789012", "app")
    assert [layer["layerDigest"] for layer in app["layers"]] == [d1, d2]
    assert [(f["layerDigest"], f["failureCode"]) for f in app["failures"]] == [("bad", "InvalidLayerDigest")]
    assert {f["failureCode"] for f in base["failures"]} == {"MissingLayerDigest", "InvalidLayerDigest"}
    assert answer["summary"] == {
        "checked": 6,
        "available": 2,
        "unavailable": 0,
        "missing": 2,
        "invalid": 2,
        "errors": 0,
    }


@pytest.mark.usefixtures("env")
def test_repeated_repository_name_checks_each_and_reports_repository_errors_per_digest(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    d1, _ = registry.digests

    code, out, err = layercheck(
        registry, capsys, "--repository-name", "app", "--repository-name", "nope", "--layer-digests", d1
    )

    results = json.loads(out)["results"]
    assert code == EXIT_ERROR
    assert err.startswith("layercheck: not checked: nope: RepositoryNotFoundException: The repository with name 'nope'")
    assert [result["repositoryName"] for result in results] == ["app", "nope"]
    assert results[1]["failures"][0]["failureCode"] == "RepositoryNotFoundException"


@pytest.mark.usefixtures("env")
def test_layer_digests_from_a_file(registry: Registry, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d1, d2 = registry.digests
    listing = tmp_path / "digests.txt"
    listing.write_text(f"# image layers\n{d1}\n\n{d2}  # the big one\n")

    code, out, _ = layercheck(registry, capsys, "--repository-name", "app", "--layer-digests", f"file://{listing}")

    assert code == EXIT_OK
    assert [layer["layerDigest"] for layer in json.loads(out)["layers"]] == [d1, d2]


def test_layer_digests_from_stdin_with_the_installed_binary(registry: Registry, cli_env: dict[str, str]) -> None:
    d1, d2 = registry.digests
    command = [LAYERCHECK, "batch-check-layer-availability", "--endpoint-url", registry.endpoint_url]
    command += ["--repository-name", "app", "--layer-digests", "-", "--output", "text", "--query", "layers[].layerSize"]

    result = run(command, cli_env, stdin=f"{d1}\n{d2}\n".encode())

    assert (result.returncode, result.stdout, result.stderr) == (0, b"9\t900\n", b"")


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("repositories", "digests", "expected"),
    [
        (["--repository-name", "app"], ["{d1}", "{d2}"], EXIT_OK),
        (["--repository-name", "app"], ["{d1}", "{missing}"], EXIT_NOT_AVAILABLE),
        (["--repository-name", "app"], ["bad"], EXIT_NOT_AVAILABLE),
        (["--repository-names", "app"], ["{d1}"], EXIT_OK),
        (["--repository-names", "app", "base"], ["{d1}"], EXIT_NOT_AVAILABLE),
    ],
)
def test_fail_on_missing_exits_1_when_any_digest_is_not_available(
    repositories: list[str],
    digests: list[str],
    expected: int,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d1, d2 = registry.digests
    values = [d.replace("{d1}", d1).replace("{d2}", d2).replace("{missing}", MISSING_DIGEST) for d in digests]

    code, out, _ = layercheck(registry, capsys, *repositories, "--layer-digests", *values, "--fail-on-missing")

    assert code == expected
    assert out  # the answer is printed either way


@pytest.mark.usefixtures("env")
def test_without_fail_on_missing_missing_layers_exit_0(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = layercheck(registry, capsys, "--repository-name", "app", "--layer-digests", MISSING_DIGEST)

    assert code == EXIT_OK


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("repositories", [["--repository-name", "app"], ["--repository-names", "app", "base"]])
def test_yaml_and_yaml_stream_carry_the_json_answer(
    repositories: list[str], registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    d1, _ = registry.digests
    args = [*repositories, "--layer-digests", d1, MISSING_DIGEST, "bad"]

    _, as_json, _ = layercheck(registry, capsys, *args)
    _, as_yaml, _ = layercheck(registry, capsys, *args, "--output", "yaml")
    _, as_stream, _ = layercheck(registry, capsys, *args, "--output", "yaml-stream")

    assert yaml.safe_load(as_yaml) == json.loads(as_json)
    assert yaml.safe_load(as_stream) == [json.loads(as_json)]
    # The AWS CLI v2's layout: block style, sorted keys, list items level with their key.
    top_keys = [line.split(":")[0] for line in as_yaml.splitlines() if line and line[0].isalpha()]
    assert top_keys == sorted(top_keys)
    assert "\n- " in as_yaml


@pytest.mark.usefixtures("env")
def test_query_and_table_apply_to_the_multi_repository_shape(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    d1, _ = registry.digests
    args = ["--repository-names", "app", "base", "--layer-digests", d1]

    _, text, _ = layercheck(registry, capsys, *args, "--output", "text", "--query", "results[].repositoryName")
    _, nested, _ = layercheck(registry, capsys, *args, "--output", "table", "--query", "results")

    assert text == "app\tbase\n"
    # With --query, the AWS CLI's table of whatever the query selects: a one-row section wider than 80 turns vertical.
    assert "||  failureCode  |  MissingLayerDigest " in nested


@pytest.mark.usefixtures("env")
def test_table_of_several_repositories_is_one_row_each_in_80_columns_and_says_why_one_errored(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --query, one compact row per repository (the per-digest detail stays in json/text/yaml and under
    --query), then one line per repository in error saying why; nope was not checked, so the exit code is 255."""
    d1, d2 = registry.digests

    code, table, _ = layercheck(
        registry, capsys, "--repository-names", "app", "base", "nope", "--layer-digests", d1, d2, "bad",
        "--output", "table",
    )  # fmt: skip

    lines = table.splitlines()
    assert code == EXIT_ERROR
    assert max(len(line) for line in lines[:-1]) <= 80
    assert lines[1].strip("| ") == "BatchCheckLayerAvailability"
    assert lines[-1].startswith("nope: RepositoryNotFoundException: The repository with name 'nope' does not exist")
    assert lines[-1].endswith("(2 digests)")
    assert [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines if line.count("|") > 2] == [
        ["repository", "available", "unavailable", "missing", "invalid", "errors"],
        ["app", "2", "0", "0", "1", "0"],
        ["base", "0", "0", "2", "1", "0"],
        ["nope", "0", "0", "0", "1", "2"],
        ["total", "2", "0", "2", "3", "2"],
    ]


@pytest.mark.usefixtures("env")
def test_cli_input_yaml_with_repository_names(
    registry: Registry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    d1, _ = registry.digests
    document = tmp_path / "input.yaml"
    document.write_text(f"repositoryNames:\n- app\n- base\nlayerDigests:\n- {d1}\n")

    code, out, _ = layercheck(registry, capsys, "--cli-input-yaml", f"file://{document}", "--query", "summary")

    assert code == EXIT_OK
    assert json.loads(out) == {"checked": 2, "available": 1, "unavailable": 0, "missing": 1, "invalid": 0, "errors": 0}


@pytest.mark.usefixtures("env")
def test_generate_cli_skeleton_yaml_input_feeds_cli_input_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch-check-layer-availability", "--generate-cli-skeleton", "yaml-input"]) == EXIT_OK
    skeleton = capsys.readouterr().out

    assert yaml.safe_load(skeleton) == {"registryId": "", "repositoryName": "", "layerDigests": [""]}
    assert "repositoryName: '' # [REQUIRED] " in skeleton


@pytest.mark.usefixtures("env")
def test_ecr_prefix_is_accepted(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    d1, _ = registry.digests
    argv = ["ecr", "batch-check-layer-availability", "--endpoint-url", registry.endpoint_url]

    code = main([*argv, "--repository-name", "app", "--layer-digests", d1, "--query", "layers[0].layerSize"])

    assert (code, capsys.readouterr().out) == (EXIT_OK, "9\n")


@pytest.mark.usefixtures("env")
def test_a_digest_that_is_an_existing_file_warns_on_stderr(
    registry: Registry, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d1, _ = registry.digests
    (tmp_path / "digests.txt").write_text(f"{d1}\n")
    monkeypatch.chdir(tmp_path)

    code, out, err = layercheck(registry, capsys, "--repository-name", "app", "--layer-digests", "digests.txt", d1)

    assert code == EXIT_OK
    assert err == (
        "layercheck: warning: --layer-digests value 'digests.txt' is an existing file but is sent as a digest; "
        "to read digests from it, write file://digests.txt\n"
    )
    # The answer is still ECR's for the value as given, as the AWS CLI's would be.
    assert json.loads(out)["failures"][0]["layerDigest"] == "digests.txt"


@pytest.mark.usefixtures("env")
def test_digests_that_are_not_files_do_not_warn(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    d1, _ = registry.digests

    _, _, err = layercheck(registry, capsys, "--repository-name", "app", "--layer-digests", d1, "not-a-file")

    assert err == ""

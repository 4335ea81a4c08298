"""The CLI: every command has --help, config show prints the effective config."""

from __future__ import annotations

import tomllib

import pytest
from typer.testing import CliRunner

from pacsmine.cli import app

runner = CliRunner()

COMMANDS = [[], ["phantom"], ["ingest"], ["extract"], ["refs"], ["topics"], ["topics", "infer"],
            ["evaluate"], ["run"], ["demo"], ["config"], ["config", "show"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "pacsmine")
def test_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_config_show_applies_overrides():
    result = runner.invoke(app, ["config", "show", "--set", "run.workers=1"])
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.output)["run"]["workers"] == 1


def test_config_show_rejects_unknown_key():
    result = runner.invoke(app, ["config", "show", "--set", "run.nope=1"])
    assert result.exit_code != 0


def test_config_show_output_is_a_valid_config_file(tmp_path):
    shown = runner.invoke(app, ["config", "show", "--set", "topics.level1.iterations=77"])
    path = tmp_path / "pacsmine.toml"
    path.write_text(shown.output)
    again = runner.invoke(app, ["config", "show", "--config", str(path)])
    assert again.exit_code == 0, again.output
    assert tomllib.loads(again.output) == tomllib.loads(shown.output)
    assert tomllib.loads(again.output)["topics"]["level1"]["iterations"] == 77

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

"""The CLI: every command has --help, config show prints the effective config."""

from __future__ import annotations

import tomllib

import pytest
from typer.testing import CliRunner

from pacsmine.cli import app

runner = CliRunner()

COMMANDS = [[], ["phantom"], ["ingest"], ["extract"], ["refs"], ["topics"], ["topics", "infer"], ["vectors"], ["similar"],
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


def test_assert_command_reads_json_lines():
    import json as _json

    lines = [
        _json.dumps({"text": "FINDINGS: Heart size is normal. Evaluate for pneumonia.", "spans": [[10, 20], [46, 55]]}),
        "not json",
        _json.dumps({"text": "No effusion.", "spans": [[3, 11]]}),
        _json.dumps({"text": "x", "spans": [[0, 5]]}),
    ]
    result = runner.invoke(app, ["assert"], input="\n".join(lines) + "\n")
    assert result.exit_code == 1 and "Traceback" not in result.output
    out = [_json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert [(s["status"], s["negated"], s["uncertain"]) for s in out[0]["spans"]] == [
        ("absent", True, False), ("uncertain", False, True)]
    assert out[1]["error"].startswith("line 2:")
    assert out[2] == {"spans": [{"start": 3, "end": 11, "status": "absent", "negated": True,
                                 "uncertain": False, "historical": False}]}
    assert "not inside the text" in out[3]["error"]


@pytest.mark.parametrize("setting, key", [("extract.tokens.status_tokens.absent=negate", "status_tokens.absent"),
                                          ("topics.level1.at_cap=max", "topics.level1.at_cap")])
def test_a_bad_setting_is_a_one_line_usage_error(setting, key, tmp_path):
    result = runner.invoke(app, ["topics", "-w", str(tmp_path), "--set", setting])
    assert result.exit_code == 2 and key in result.output and "Traceback" not in result.output

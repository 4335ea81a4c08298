"""The one configuration: packaged defaults, a user file, --set overrides."""

from __future__ import annotations

import tomllib

import pytest

from pacsmine.config import dumps, load_config, merge, parse_override


def test_defaults_have_every_section():
    config = load_config()
    assert {"run", "phantom", "ingest", "extract", "topics"} <= set(config)
    assert config["run"]["demo"]["reports"] == 3000


def test_override_parses_toml_values():
    assert parse_override("a.b=3") == {"a": {"b": 3}}
    assert parse_override("a.b=[1, 2]") == {"a": {"b": [1, 2]}}
    assert parse_override("a.b=true") == {"a": {"b": True}}
    assert parse_override("a=some/path") == {"a": "some/path"}
    with pytest.raises(ValueError):
        parse_override("no-equals")


def test_file_then_set_precedence(tmp_path):
    user = tmp_path / "user.toml"
    user.write_text("[run]\nworkers = 1\n[run.demo]\nseed = 11\n")
    config = load_config(user, ["run.workers=2"])
    assert config["run"]["workers"] == 2
    assert config["run"]["demo"]["seed"] == 11
    assert config["run"]["demo"]["reports"] == 3000


def test_unknown_key_is_an_error():
    with pytest.raises(KeyError, match="run.wrokers"):
        load_config(overrides=["run.wrokers=1"])
    with pytest.raises(TypeError):
        merge({"a": {"b": 1}}, {"a": 3})


def test_dumps_round_trips():
    config = load_config()
    assert tomllib.loads(dumps(config)) == config

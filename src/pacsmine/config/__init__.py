"""One configuration for the whole pipeline.

The defaults are data files beside this module, one per section (``phantom.toml``,
``ingest.toml``, ``extract.terms.toml`` for the sub-table ``extract.terms``, ...): each holds the paper's settings for that stage and is the
only place a default lives. A user file (TOML) overrides any of them, and
``--set section.key=value`` on the command line overrides both.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

__all__ = ["load_config", "dumps", "parse_override", "merge"]


def _defaults() -> dict[str, Any]:
    """Packaged defaults. ``extract.toml`` fills ``config["extract"]``; a dotted name such
    as ``extract.terms.toml`` fills the sub-table ``config["extract"]["terms"]``, so that
    one part of a stage keeps its defaults in a file of its own."""
    config: dict[str, Any] = {}
    entries = [e for e in resources.files(__name__).iterdir() if e.name.endswith(".toml")]
    # Shorter names first: a section exists before its sub-tables are put into it.
    for entry in sorted(entries, key=lambda e: (e.name.count("."), e.name)):
        keys = entry.name[: -len(".toml")].split(".")
        node = config
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = tomllib.loads(entry.read_text("utf-8"))
    return config


def merge(base: dict[str, Any], override: dict[str, Any], _path: str = "") -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys are an error.

    An unknown key is almost always a typo, and a silently ignored setting is
    worse than a clear error.
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        where = f"{_path}{key}"
        if key not in out:
            raise KeyError(f"unknown config key '{where}'")
        if isinstance(out[key], dict):
            if not isinstance(value, dict):
                raise TypeError(f"config key '{where}' is a section, not a value")
            out[key] = merge(out[key], value, where + ".")
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict[str, Any]:
    """``"topics.level1.k_grid=[10, 20]"`` -> nested dict. Values are TOML; bare words are strings."""
    if "=" not in text:
        raise ValueError(f"override '{text}' is not of the form section.key=value")
    dotted, raw = text.split("=", 1)
    keys = [k.strip() for k in dotted.strip().split(".") if k.strip()]
    if not keys:
        raise ValueError(f"override '{text}' names no key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    nested: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        nested = {key: nested}
    return nested


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Effective configuration: packaged defaults < user TOML file < ``overrides``."""
    config = _defaults()
    if path is not None:
        with open(path, "rb") as fh:
            config = merge(config, tomllib.load(fh))
    for item in overrides or []:
        config = merge(config, parse_override(item))
    return config


def dumps(config: dict[str, Any]) -> str:
    """The configuration as TOML text (what ``pacsmine config show`` prints)."""
    return tomli_w.dumps(_drop_none(config))


def _drop_none(value: Any) -> Any:
    # TOML has no null: an unset optional value is simply absent from the file.
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value

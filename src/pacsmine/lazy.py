"""Lazy exports for the stage packages: a name is imported from its module on first use, so
``import pacsmine.images`` (the CLI's start-up, a settings check) loads neither torch, gensim
nor tomotopy."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package``: ``where`` maps an exported name to the
    relative module that defines it (``{"run_topics": ".stage"}``)."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(where[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__

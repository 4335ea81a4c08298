"""Console output and progress bars shared by every stage.

Everything human-facing goes to standard error, so that commands with a
machine-readable output (``pacsmine refs``, ``pacsmine evaluate --json``) keep
standard output clean.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

console = Console(stderr=True)

__all__ = ["console", "progress", "track"]


def _disabled() -> bool:
    return os.environ.get("PACSMINE_NO_PROGRESS", "") not in ("", "0")


def progress() -> Progress:
    """A rich Progress with the columns every long step shows (count, rate, ETA)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        disable=_disabled(),
        transient=False,
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` under a progress bar (``total`` taken from ``len`` when possible)."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with progress() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)

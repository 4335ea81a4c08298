"""What every stage's PNG figure shares: matplotlib without a display, and an atomic write.

matplotlib is imported on first use (the CLI's start-up does not pay for it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .workspace import atomic_path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display on a server or in CI)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | Path, dpi: int | None = None) -> Path:
    """Write ``fig`` to ``path`` as PNG through a temporary file (a killed run leaves no half
    figure), close it, and return the path. ``dpi`` None keeps the figure's own."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **({} if dpi is None else {"dpi": dpi}))
    pyplot().close(fig)
    return path

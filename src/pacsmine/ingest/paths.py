"""Confinement: every file ingest reads must lie inside the export.

A path named by a manifest row (``../../outside/x.dcm``, ``/etc/passwd``) or met in the
walk (a symbolic link) is resolved, links followed, before anything is opened:

* it resolves outside the export's own resolved folder -> ``outside_export``;
* it is a symbolic link whose target does not exist -> ``dangling_symlink``;
* it is a symbolic link to a folder (never followed: it may loop) -> ``symlink_to_folder``;
* otherwise it is read (a missing or unreadable plain file is the reader's reject).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["confinement", "is_inside"]


def is_inside(root: Path, path: Path) -> bool:
    """Whether resolved ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents


def confinement(root: Path, path: Path) -> tuple[str, str] | None:
    """None when ``path`` may be opened; else ``(reason, detail)`` (module docstring).

    ``root`` is the export folder, resolved; ``path`` is absolute or relative to the
    working folder, as the caller would open it.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    link = path.is_symlink()
    if not is_inside(root, target):
        via = f"links to {target}" if link else f"resolves to {target}"
        return "outside_export", f"{path} {via}, outside the export {root}"
    if link and not target.exists():
        return "dangling_symlink", f"{path} links to {os.readlink(path)}, which does not exist"
    if link and target.is_dir():
        return "symlink_to_folder", f"{path} links to the folder {target} (links to folders are not followed)"
    return None

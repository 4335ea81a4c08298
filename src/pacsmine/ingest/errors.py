"""The one error type of ingest's usage errors (a missing column, no reports found, a
workspace inside the export, ...): input that no rerun of the same command can get
past, as opposed to bad rows and files, which become rejects.
"""

from __future__ import annotations

__all__ = ["IngestError"]


class IngestError(ValueError):
    """A usage error, as one line: ``what`` is wrong, ``where`` (a path, a column),
    and the ``fix`` (a ``--set`` or the file to change). A command line prints
    ``str(error)`` alone and exits with status 2.
    """

    def __init__(self, what: str, where: str, fix: str):
        self.what, self.where, self.fix = what, where, fix
        super().__init__(" ".join(f"{what} ({where}); {fix}".split()))

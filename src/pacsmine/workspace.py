"""The workspace: one folder that every stage reads from and writes to.

Layout (docs/workspace.md lists every artefact and its columns)::

    WS/<stage>/manifest.json   written last: its presence means the stage finished
    WS/<stage>/metrics.json    counts and scores of the stage
    WS/<stage>/...             the stage's artefacts (Parquet, JSON, PNG, model files)
    WS/<stage>/.partial-<fp>/  resumable scratch of an interrupted run, removed on success

A stage is *up to date* when its manifest exists, its fingerprint (config section,
input fingerprints, pacsmine version) equals the one just computed, and every
artefact it lists is present. Downstream stages take the upstream fingerprint as an
input, so a change anywhere reruns everything that depends on it.

Every write goes to a temporary file in the same folder and is renamed into place,
so a stage killed at any moment leaves no half-written artefact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .progress import console

__all__ = [
    "Workspace",
    "StageContext",
    "StageResult",
    "atomic_path",
    "write_json",
    "write_parquet",
    "fingerprint_files",
    "fingerprint_value",
]

MANIFEST = "manifest.json"
METRICS = "metrics.json"

# Packages whose versions go into every manifest: they decide the results.
_TRACKED_PACKAGES = ("numpy", "pyarrow", "pydicom", "pillow", "tomotopy", "gensim", "torch")


# --------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file 0600; the artefact gets the mode any new file would (umask).
    umask = os.umask(0o022)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            if tmp_path.is_dir():
                shutil.rmtree(tmp_path)
            else:
                tmp_path.unlink()
        raise


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n", "utf-8")
    return Path(path)


def write_parquet(path: str | os.PathLike[str], table: pa.Table) -> Path:
    """Write an Arrow table as Parquet (zstd), atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# --------------------------------------------------------------------------- fingerprints


def fingerprint_value(value: Any) -> str:
    """A stable SHA-256 of any JSON-able value (dict keys sorted)."""
    blob = json.dumps(value, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def fingerprint_files(root: str | os.PathLike[str], pattern: str = "**/*") -> str:
    """Fingerprint of a file or folder from each file's relative path, size and mtime.

    Reading every byte of a 10^6-file archive would cost more than the stage itself;
    path, size and modification time change whenever a file does.
    """
    root = Path(root)
    h = hashlib.sha256()
    if root.is_file():
        st = root.stat()
        h.update(f"{root.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            entries.append(f"{os.path.relpath(full, root)}\0{st.st_size}\0{st.st_mtime_ns}")
    for entry in sorted(entries):
        h.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"pacsmine": __version__, "python": platform.python_version()}
    for name in _TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


# --------------------------------------------------------------------------- stages


@dataclass
class StageContext:
    """What a stage body gets: where to write, where to resume, and its config."""

    workspace: "Workspace"
    name: str
    config: dict[str, Any]
    fingerprint: str
    dir: Path
    partial_dir: Path
    outputs: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        """Absolute path of an artefact of this stage; recorded in the manifest."""
        if relative not in self.outputs:
            self.outputs.append(relative)
        p = self.dir / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_parquet(self, relative: str, table: pa.Table) -> Path:
        return write_parquet(self.path(relative), table)

    def write_json(self, relative: str, obj: Any) -> Path:
        return write_json(self.path(relative), obj)


@dataclass
class StageResult:
    name: str
    ran: bool
    fingerprint: str
    metrics: dict[str, Any]
    seconds: float


class Workspace:
    """A workspace folder. Cheap to construct; nothing is read until asked."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def stage_dir(self, name: str) -> Path:
        return self.root / name

    def manifest(self, name: str) -> dict[str, Any] | None:
        """The stage's manifest, or None if the stage never finished."""
        path = self.stage_dir(name) / MANIFEST
        if not path.exists():
            return None
        return json.loads(path.read_text("utf-8"))

    def metrics(self, name: str) -> dict[str, Any] | None:
        path = self.stage_dir(name) / METRICS
        if not path.exists():
            return None
        return json.loads(path.read_text("utf-8"))

    def fingerprint(self, name: str) -> str:
        """Fingerprint of a finished stage; raises if it has not run."""
        manifest = self.manifest(name)
        if manifest is None:
            raise FileNotFoundError(
                f"stage '{name}' has not run in {self.root}: run `pacsmine {name}` first"
            )
        return manifest["fingerprint"]

    def has(self, name: str) -> bool:
        return (self.stage_dir(name) / MANIFEST).exists()

    def require(self, name: str, relative: str) -> Path:
        """Path of an upstream artefact; a clear error if the upstream stage is missing."""
        self.fingerprint(name)
        path = self.stage_dir(name) / relative
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: rerun `pacsmine {name}`")
        return path

    def is_up_to_date(self, name: str, fingerprint: str) -> bool:
        manifest = self.manifest(name)
        if manifest is None or manifest.get("fingerprint") != fingerprint:
            return False
        return all((self.stage_dir(name) / rel).exists() for rel in manifest.get("outputs", []))

    def run_stage(
        self,
        name: str,
        config: dict[str, Any],
        inputs: dict[str, str],
        body: Callable[[StageContext], dict[str, Any]],
        *,
        force: bool = False,
        extra_manifest: dict[str, Any] | None = None,
    ) -> StageResult:
        """Run ``body`` as stage ``name`` unless it is already up to date.

        ``inputs`` maps input names to fingerprints (``fingerprint_files`` for
        external data, ``self.fingerprint(stage)`` for upstream stages). ``body``
        writes its artefacts through the context and returns the stage metrics.
        The manifest is written last, so a stage killed mid-way is never taken as
        finished; its ``partial_dir`` survives for the next run to resume from.
        """
        fp = fingerprint_value({"stage": name, "config": config, "inputs": inputs, "version": __version__})
        if not force and self.is_up_to_date(name, fp):
            console.print(f"[green]{name}[/]: up to date ({self.stage_dir(name)})")
            return StageResult(name, False, fp, self.metrics(name) or {}, 0.0)

        stage_dir = self.stage_dir(name)
        stage_dir.mkdir(parents=True, exist_ok=True)
        # A stale manifest must not survive a rerun that fails half-way.
        with contextlib.suppress(FileNotFoundError):
            (stage_dir / MANIFEST).unlink()
        partial = stage_dir / f".partial-{fp[:16]}"
        for old in stage_dir.glob(".partial-*"):
            if old != partial:
                shutil.rmtree(old, ignore_errors=True)
        partial.mkdir(exist_ok=True)

        ctx = StageContext(self, name, config, fp, stage_dir, partial)
        started = time.time()
        t0 = time.perf_counter()
        metrics = body(ctx) or {}
        seconds = time.perf_counter() - t0

        write_json(stage_dir / METRICS, metrics)
        manifest = {
            "stage": name,
            "fingerprint": fp,
            "inputs": inputs,
            "config": config,
            "versions": package_versions(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(seconds, 3),
            "counts": ctx.counts,
            "outputs": sorted(set(ctx.outputs) | {METRICS}),
        }
        if extra_manifest:
            manifest.update(extra_manifest)
        write_json(stage_dir / MANIFEST, manifest)
        shutil.rmtree(partial, ignore_errors=True)
        console.print(f"[green]{name}[/]: done in {seconds:.1f} s -> {stage_dir}")
        return StageResult(name, True, fp, metrics, seconds)

"""The workspace: one folder that every stage reads from and writes to.

Layout (docs/workspace.md lists every artefact and its columns)::

    WS/<stage>/manifest.json   written last: its presence means the stage finished
    WS/<stage>/metrics.json    counts and scores of the stage
    WS/<stage>/...             the stage's artefacts (Parquet, JSON, PNG, model files)
    WS/<stage>/.partial-<fp>/  resumable scratch of an interrupted run, removed on success

    WS/.lock                   held (flock) by the one process running a stage here
    WS/.cache/file-hashes.json content hashes of data files, by path, size and mtime

A stage is *up to date* when its manifest exists, its fingerprint (config section,
input fingerprints, pacsmine version, the content of the data files it reads and of
the pacsmine package's own files: code and packaged rules) equals the one just
computed, and every artefact it lists is present. Downstream stages take the upstream
fingerprint as an input, so a change anywhere reruns everything that depends on it.

Every write goes to a temporary file in the same folder and is renamed into place,
so a stage killed at any moment leaves no half-written artefact; a rerun removes the
temporaries of a killed run and every file the new run did not write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
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
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .progress import console

__all__ = [
    "Workspace",
    "StageContext",
    "StageResult",
    "StageIncomplete",
    "StageMissing",
    "WorkspaceBusy",
    "content_fingerprint",
    "atomic_path",
    "write_json",
    "write_parquet",
    "fingerprint_files",
    "fingerprint_value",
]

MANIFEST = "manifest.json"
METRICS = "metrics.json"
LOCK = ".lock"
HASH_CACHE = ".cache/file-hashes.json"
# The package whose files (code and packaged rules) go into every fingerprint.
PACKAGE_ROOT = Path(__file__).resolve().parent

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


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _walk_files(root: Path) -> list[Path]:
    """Every file under ``root`` (itself if a file), sorted; hidden names and caches skipped."""
    if root.is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        found.extend(Path(dirpath) / name for name in filenames
                     if not name.startswith(".") and not name.endswith((".pyc", ".pyo")))
    return sorted(found)


def content_fingerprint(paths: Iterable[str | os.PathLike[str]], cache: str | os.PathLike[str] | None = None
                        ) -> dict[str, str]:
    """``{resolved path: SHA-256 of its content}`` for each file or folder in ``paths``
    (a folder: of each file's relative path and content; an absent path: "absent").

    ``cache`` is a JSON file of earlier hashes keyed by path, size and modification time,
    so an unchanged 100 MB ontology is not read again on each up-to-date check.
    """
    cache_path = Path(cache) if cache is not None else None
    known: dict[str, list] = {}
    if cache_path is not None and cache_path.exists():
        with contextlib.suppress(ValueError, OSError):
            known = json.loads(cache_path.read_text("utf-8"))
    fresh: dict[str, list] = {}

    def file_hash(path: Path) -> str:
        st = path.stat()
        key = str(path)
        hit = known.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            digest = hit[2]
        else:
            digest = _sha256_file(path)
        fresh[key] = [st.st_size, st.st_mtime_ns, digest]
        return digest

    out: dict[str, str] = {}
    for raw in paths:
        root = Path(raw).expanduser().resolve()
        if not root.exists():
            out[str(root)] = "absent"
            continue
        if root.is_file():
            out[str(root)] = file_hash(root)
            continue
        h = hashlib.sha256()
        for path in _walk_files(root):
            h.update(f"{path.relative_to(root)}\0{file_hash(path)}\n".encode("utf-8", "surrogateescape"))
        out[str(root)] = h.hexdigest()
    if cache_path is not None and fresh and any(known.get(k) != v for k, v in fresh.items()):
        with contextlib.suppress(OSError):
            write_json(cache_path, {**known, **fresh})
    return out


@functools.lru_cache(maxsize=None)
def _source_fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for path in _walk_files(root):
        h.update(f"{path.relative_to(root)}\0{_sha256_file(path)}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def source_fingerprint() -> str:
    """SHA-256 of every file of the installed pacsmine package (its code, packaged rules and
    default config): any edit to the code or a rule file makes every stage out of date."""
    return _source_fingerprint(PACKAGE_ROOT)


def package_versions() -> dict[str, str]:
    versions = {"pacsmine": __version__, "python": platform.python_version()}
    for name in _TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


# --------------------------------------------------------------------------- errors


class WorkspaceBusy(RuntimeError):
    """Another process holds the workspace lock (one line, naming its pid)."""


class StageIncomplete(RuntimeError):
    """A stage finished its body without every part or artefact it planned: no manifest."""


class StageMissing(FileNotFoundError):
    """An upstream stage has not run (a usage error: run it first)."""


# --------------------------------------------------------------------------- the lock

# Locks this process holds: workspace root -> [open lock file, depth]. A process takes
# a workspace's lock once, however many Workspace objects or nested stages ask for it.
_HELD: dict[Path, list] = {}


def _release_in_child() -> None:
    """In a forked child (a pool worker): close the inherited lock files. The flock stays
    with the parent; a worker that outlives a killed parent must not keep the workspace locked."""
    for fd, _ in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_release_in_child)


def _lock_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text("utf-8"))
        return f"pid {info['pid']} ({info.get('stage', '?')} since {info.get('started', '?')})"
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process"


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

    def check_complete(self, what: str, planned: Iterable[Any], present: Iterable[Any]) -> None:
        """Raise :class:`StageIncomplete` unless every ``planned`` part is in ``present``.

        A stage calls it before assembling its parts (extract: its record batches), so a
        part lost to anything (another run, a disk error) stops the run without a manifest
        instead of finishing with part of the data.
        """
        planned = set(planned)
        missing = sorted(planned - set(present))
        if missing:
            shown = ", ".join(str(m) for m in missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise StageIncomplete(
                f"{self.name}: {len(missing)} of {len(planned)} planned {what} are missing from {self.partial_dir} "
                f"({shown}); rerun the same command"
            )


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
        """Fingerprint of a finished stage; raises :class:`StageMissing` if it has not run."""
        manifest = self.manifest(name)
        if manifest is None:
            raise StageMissing(
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
            raise StageMissing(f"{path} is missing: rerun `pacsmine {name}`")
        return path

    @contextlib.contextmanager
    def lock(self, stage: str) -> Iterator[None]:
        """Hold the workspace's lock (``WS/.lock``) for ``stage``; raise :class:`WorkspaceBusy`
        at once, naming the holder's pid, if another process holds it.

        The lock is an ``flock``: the kernel drops it when its process dies, so the lock
        file left by a killed run (its pid dead) is simply taken over. Re-entrant within
        one process (``pacsmine run`` holds it across stages).
        """
        held = _HELD.get(self.root)
        if held is not None:
            held[1] += 1
            try:
                yield
            finally:
                held[1] -= 1
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise WorkspaceBusy(
                    f"workspace {self.root} is in use by pacsmine {_lock_holder(path)}; "
                    "wait for it to finish or stop it, then rerun"
                ) from None
            raise
        info = {"pid": os.getpid(), "stage": stage, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        _HELD[self.root] = [fd, 1]
        try:
            yield
        finally:
            del _HELD[self.root]
            os.close(fd)  # releases the flock; the file stays (it only says who held it last)

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
        files: Iterable[str | os.PathLike[str]] = (),
    ) -> StageResult:
        """Run ``body`` as stage ``name`` unless it is already up to date.

        ``inputs`` maps input names to fingerprints (``fingerprint_files`` for
        external data, ``self.fingerprint(stage)`` for upstream stages); ``files`` are
        the data files and folders the stage reads besides (vocabularies, ontologies),
        fingerprinted by content. ``body`` writes its artefacts through the context and
        returns the stage metrics. The whole run holds the workspace lock. The manifest
        is written last and only when every artefact the body recorded exists, so a stage
        killed mid-way is never taken as finished; its ``partial_dir`` survives for the
        next run to resume from. Files of the stage folder that this run did not record
        (an old run's outputs, temporaries of a killed one) are removed.
        """
        with self.lock(name):
            return self._run_stage(name, config, inputs, body, force, extra_manifest, files)

    def _run_stage(self, name, config, inputs, body, force, extra_manifest, files) -> StageResult:
        data = content_fingerprint(files, self.root / HASH_CACHE)
        code = source_fingerprint()
        fp = fingerprint_value({"stage": name, "config": config, "inputs": inputs, "version": __version__,
                                "code": code, "files": data})
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
        _remove_temporaries(stage_dir)
        partial.mkdir(exist_ok=True)

        ctx = StageContext(self, name, config, fp, stage_dir, partial)
        started = time.time()
        t0 = time.perf_counter()
        metrics = body(ctx) or {}
        seconds = time.perf_counter() - t0

        lost = sorted(rel for rel in set(ctx.outputs) if not (stage_dir / rel).exists())
        if lost:
            raise StageIncomplete(f"{name}: {len(lost)} artefacts it wrote are gone ({', '.join(lost[:5])}); "
                                  "rerun the same command")
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
            "code": code,
            "files": data,
        }
        if extra_manifest:
            manifest.update(extra_manifest)
        _remove_unrecorded(stage_dir, set(ctx.outputs) | {METRICS})
        write_json(stage_dir / MANIFEST, manifest)
        shutil.rmtree(partial, ignore_errors=True)
        console.print(f"[green]{name}[/]: done in {seconds:.1f} s -> {stage_dir}")
        return StageResult(name, True, fp, metrics, seconds)


def _remove_temporaries(stage_dir: Path) -> None:
    """Delete the ``.<name>.*.tmp`` files (and folders) that a killed run's atomic writes left."""
    for tmp in sorted(stage_dir.rglob(".*.tmp"), reverse=True):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _remove_unrecorded(stage_dir: Path, outputs: set[str]) -> None:
    """Delete the files of ``stage_dir`` that are not an output nor under an output folder
    (an earlier run's ``level2/<parent>/model.bin``), then the folders left empty. The
    ``.partial-*`` scratch is left to the caller."""
    keep = {Path(rel) for rel in outputs}
    for dirpath, dirnames, filenames in os.walk(stage_dir, topdown=True):
        here = Path(dirpath).relative_to(stage_dir)
        dirnames[:] = [d for d in dirnames if not (here == Path(".") and d.startswith(".partial-"))
                       and (here / d) not in keep]
        for name in filenames:
            rel = here / name
            if rel not in keep and not (here == Path(".") and name == MANIFEST):
                with contextlib.suppress(FileNotFoundError):
                    (stage_dir / rel).unlink()
    for dirpath, dirnames, filenames in os.walk(stage_dir, topdown=False):
        path = Path(dirpath)
        rel = path.relative_to(stage_dir)
        if rel.parts and rel.parts[0].startswith(".partial-"):
            continue
        if path != stage_dir and not ({rel, *rel.parents} & keep) and not any(path.iterdir()):
            with contextlib.suppress(OSError):
                path.rmdir()

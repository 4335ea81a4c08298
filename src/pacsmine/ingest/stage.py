"""The ingest stage: reports and images of an export into ``WS/ingest/``.

Both halves run in resumable chunks: each finished chunk is a pair of part files in
the stage's ``.partial-<fingerprint>/`` folder (rejects first, rows last, each written
atomically), so a run killed at any moment resumes at the first unfinished chunk. The
final tables are streamed together from the parts at the end; the PNGs are moved into
``ingest/images/`` as each chunk finishes. Memory holds one chunk, plus the set of
accessions and image ids seen (for duplicate detection).
"""

from __future__ import annotations

import collections
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..progress import console, progress
from ..workspace import StageContext, StageResult, Workspace, atomic_path, fingerprint_files, write_parquet
from ..streams import chunked
from .decode import TextDecoder
from .errors import IngestError
from .images import IMAGE_SCHEMA, convert_chunk, init_worker, iter_items
from .paths import is_inside
from .reports import (REJECT_SCHEMA, REPORT_FIELDS, REPORT_SCHEMA, ReportChecker, check_columns, detect_reports,
                      iter_csv_rows, iter_reports)

__all__ = ["run_ingest", "evaluate_ingest"]


def run_ingest(export: Path, ws: Workspace, config: dict[str, Any], force: bool = False) -> StageResult:
    """Ingest ``export`` into ``ws`` (``config`` is the full config; see docs/ingest.md).

    Writes ``ingest/reports.parquet``, ``images.parquet``, ``rejects.parquet``,
    ``images/<accession>/<series>_<instance>.png`` and ``metrics.json`` (counts).
    Usage errors (no reports found, a missing column, a workspace inside the export, ...)
    raise :class:`IngestError`, one line, before anything is written; one met later
    removes the run's partial folder when it holds no finished chunk.
    """
    export = Path(export)
    cfg = config["ingest"]
    workers = int(config.get("run", {}).get("workers", 0)) or (os.cpu_count() or 1)
    fmt, reports_path = _preflight(export, ws, cfg)

    def body(ctx: StageContext) -> dict[str, Any]:
        try:
            return _ingest(export, ctx, cfg, workers, fmt, reports_path)
        except IngestError:
            # Nothing to resume: the same command meets the same error.
            if not any(ctx.partial_dir.glob("*/part-*.parquet")):
                shutil.rmtree(ctx.partial_dir, ignore_errors=True)
            raise

    return ws.run_stage(
        "ingest",
        cfg,
        {"export": fingerprint_files(export)},
        body,
        force=force,
        extra_manifest={"export": str(export.resolve())},
    )


def _preflight(export: Path, ws: Workspace, cfg: dict[str, Any]) -> tuple[str, Path]:
    """The usage errors found before the stage starts: ``(format, reports path)``."""
    if not export.exists():
        raise IngestError("the export does not exist", str(export), "give the export folder or reports file")
    root = export.resolve()
    if export.is_dir() and is_inside(root, ws.root):
        raise IngestError("the workspace is inside the export", f"workspace {ws.root}, export {root}",
                          "ingest would read its own outputs as input: choose a workspace outside the export")
    ReportChecker(cfg["missing_patient_id"])  # a setting it refuses
    TextDecoder(cfg["encoding"], cfg["encoding_errors"])  # an unknown codec or handler
    fmt, reports_path = detect_reports(export, cfg)
    check_columns(fmt, reports_path, cfg)
    manifest = export / cfg["image_manifest"] if cfg.get("image_manifest") and export.is_dir() else None
    if manifest is not None and manifest.is_file():
        column = cfg["manifest_columns"]["path"]
        header = next(iter(iter_csv_rows(manifest)), {})
        if header and "reject" not in header and column not in header:
            found = sorted(k for k in header if k not in ("source", "key"))
            raise IngestError(f"{manifest.name} has no column {column!r}", f"{manifest}; its columns: {found}",
                              "name the right column with --set ingest.manifest_columns.path=NAME")
    return fmt, reports_path


# --------------------------------------------------------------------------- the body


def _ingest(export: Path, ctx: StageContext, cfg: dict[str, Any], workers: int, fmt: str,
            reports_path: Path) -> dict[str, Any]:
    report_parts = ctx.partial_dir / "reports"
    image_parts = ctx.partial_dir / "images"
    scratch = ctx.partial_dir / "png"
    png_root = ctx.path("images")
    if not any(report_parts.glob("part-*.parquet")):
        # A fresh start: PNGs of an earlier, different run must not linger.
        shutil.rmtree(png_root, ignore_errors=True)
    png_root.mkdir(parents=True, exist_ok=True)
    for folder in (report_parts, image_parts, scratch):
        folder.mkdir(parents=True, exist_ok=True)

    console.print(f"ingest: reports from {reports_path} ({fmt})")
    checker = ReportChecker(cfg["missing_patient_id"], int(cfg["max_report_bytes"]) or None)
    replaced = _ingest_reports(fmt, reports_path, cfg, checker, report_parts)
    _ingest_images(export, ctx, cfg, workers, image_parts, scratch)

    counts = _assemble(ctx, report_parts, image_parts, checker.seen_)
    counts["replaced_characters"] = sum(replaced.values())
    counts["format"] = fmt
    counts["workers"] = workers
    ctx.counts.update({k: v for k, v in counts.items() if isinstance(v, int)})
    _print_counts(counts)
    return counts


def _part(folder: Path, prefix: str, index: int) -> Path:
    return folder / f"{prefix}-{index:06d}.parquet"


def _write_chunk(folder: Path, index: int, rows: list[dict], schema: pa.Schema, rejects: list[dict]) -> None:
    # Rejects first, rows last: the rows part marks the chunk as finished.
    write_parquet(_part(folder, "rejects", index), pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))
    write_parquet(_part(folder, "part", index), pa.Table.from_pylist(rows, schema=schema))


def _ingest_reports(fmt: str, path: Path, cfg: dict, checker: ReportChecker, parts: Path) -> dict[str, int]:
    """Write the report chunks not finished yet; returns the characters that did not
    decode, per file (each file with any gets one warning line)."""
    size = int(cfg["report_chunk_size"])
    stats: dict[str, Any] = {}
    with progress() as bar:
        task = bar.add_task("reports", total=None)
        for index, chunk in enumerate(chunked(iter_reports(fmt, path, cfg, stats=stats), size)):
            part = _part(parts, "part", index)
            if part.exists():  # finished by an interrupted run
                for acc in pq.read_table(part, columns=["accession"]).column(0).to_pylist():
                    checker.remember(acc, f"{part.name}")
                bar.advance(task, len(chunk))
                continue
            kept, rejects = [], []
            for row in chunk:
                problem = checker.check(row)
                if problem is None:
                    kept.append({k: row.get(k) for k in REPORT_FIELDS})
                else:
                    reason, detail = problem
                    rejects.append({"kind": "report", "source": row.get("source"),
                                    "key": row.get("accession") or row.get("key"), "reason": reason,
                                    "detail": detail})
            _write_chunk(parts, index, kept, REPORT_SCHEMA, rejects)
            bar.advance(task, len(chunk))
    replaced = stats.get("replaced_characters", {})
    for name, n in replaced.items():
        errors = cfg["encoding_errors"]
        outcome = "became U+FFFD" if errors == "replace" else f"were handled by encoding_errors={errors}"
        what = "byte sequence" if n == 1 else "byte sequences"
        console.print(f"ingest: warning: {n} {what} of {name} not valid {cfg['encoding']} {outcome}; "
                      "if the file is in another encoding, rerun with --set ingest.encoding=latin-1 (or cp1252, ...)",
                      soft_wrap=True, markup=False, highlight=False)
    return replaced


class _Done:
    """Stands in for a Future when a chunk is converted in this process."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _ingest_images(export: Path, ctx: StageContext, cfg: dict, workers: int, parts: Path, scratch: Path) -> None:
    """Convert every image chunk not finished yet (in walk order; the first file with an
    image id wins)."""
    size = int(cfg["image_chunk_size"])
    seen: set[str] = set()
    pool = None
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # An executor, not multiprocessing.Pool: a worker killed by a crashing decoder
        # raises BrokenProcessPool here instead of hanging the stage forever.
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=init_worker, initargs=(cfg,))
    else:
        init_worker(cfg)
    # Chunks in order: a finished one only loads its ids; the others are converted with
    # at most 2 x workers in flight, so the walk never runs far ahead of the output.
    queue: collections.deque = collections.deque()
    max_in_flight = 2 * workers if pool is not None else 1
    try:
        with progress() as bar:
            task = bar.add_task("images", total=None)

            def handle(entry) -> None:
                index, n_items, result = entry
                if result is None:
                    seen.update(pq.read_table(_part(parts, "part", index), columns=["image_id"]).column(0).to_pylist())
                else:
                    _finish_chunk(ctx, parts, scratch, *result.result(), seen)
                bar.advance(task, n_items)

            for index, chunk in enumerate(chunked(iter_items(export, cfg), size)):
                if _part(parts, "part", index).exists():
                    queue.append((index, len(chunk), None))
                else:
                    args = (index, chunk, str(scratch))
                    result = pool.submit(convert_chunk, args) if pool else _Done(convert_chunk(args))
                    queue.append((index, len(chunk), result))
                while sum(1 for e in queue if e[2] is not None) >= max_in_flight or (queue and queue[0][2] is None):
                    handle(queue.popleft())
            while queue:
                handle(queue.popleft())
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _finish_chunk(ctx: StageContext, parts: Path, scratch: Path, index: int, rows: list[dict],
                  rejects: list[dict], seen: set[str]) -> None:
    """Drop duplicate images, move the chunk's PNGs into place, write its parts."""
    kept = []
    for row in rows:
        tmp = Path(row.pop("tmp_png"))
        if row["image_id"] in seen:
            rejects.append({"kind": "image", "source": row["source"], "key": row["accession"],
                            "reason": "duplicate_image", "detail": f"image {row['image_id']} already read"})
            tmp.unlink(missing_ok=True)
            continue
        seen.add(row["image_id"])
        final = ctx.workspace.root / row["png"]
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)  # atomic: the PNG is whole or absent
        kept.append(row)
    _write_chunk(parts, index, kept, IMAGE_SCHEMA, rejects)
    shutil.rmtree(scratch / f"{index:06d}", ignore_errors=True)


# --------------------------------------------------------------------------- final tables


def _concat(parts: list[Path], target: Path, schema: pa.Schema, visit=None) -> int:
    """Stream ``parts`` into one Parquet file at ``target`` (atomically); returns rows."""
    n = 0
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for part in parts:
                table = pq.read_table(part, schema=schema)
                if visit is not None:
                    visit(table)
                if table.num_rows:
                    writer.write_table(table)
                n += table.num_rows
    return n


def _assemble(ctx: StageContext, report_parts: Path, image_parts: Path, accessions) -> dict[str, Any]:
    """Final tables from the parts, and the stage's counts (``accessions``: those kept)."""
    counts: dict[str, Any] = {}
    reasons: dict[str, collections.Counter] = {"report": collections.Counter(), "image": collections.Counter()}
    image_accessions: set[str] = set()
    files: set[str] = set()
    orphans = collections.Counter()

    def count_rejects(table: pa.Table) -> None:
        for kind, reason in zip(table.column("kind").to_pylist(), table.column("reason").to_pylist()):
            reasons[kind][reason] += 1

    def visit_images(table: pa.Table) -> None:
        for acc, source in zip(table.column("accession").to_pylist(), table.column("source").to_pylist()):
            image_accessions.add(acc)
            files.add(source)
            if acc not in accessions:
                orphans[acc] += 1

    counts["reports"] = _concat(sorted(report_parts.glob("part-*.parquet")), ctx.path("reports.parquet"), REPORT_SCHEMA)
    counts["images"] = _concat(sorted(image_parts.glob("part-*.parquet")), ctx.path("images.parquet"),
                               IMAGE_SCHEMA, visit_images)
    reject_parts = sorted(report_parts.glob("rejects-*.parquet")) + sorted(image_parts.glob("rejects-*.parquet"))
    n_rejects = _concat(reject_parts, ctx.path("rejects.parquet"), REJECT_SCHEMA, count_rejects)
    counts["image_files"] = len(files)
    counts["reports_rejected"] = sum(reasons["report"].values())
    counts["images_rejected"] = sum(reasons["image"].values())
    counts["rejects"] = n_rejects
    counts["reports_read"] = counts["reports"] + counts["reports_rejected"]
    counts["reports_with_images"] = sum(1 for acc in image_accessions if acc in accessions)
    counts["images_without_report"] = sum(orphans.values())
    counts["reject_reasons"] = {kind: dict(sorted(c.items())) for kind, c in reasons.items()}
    return counts


def _print_counts(counts: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="ingest", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("reports read", str(counts["reports_read"]))
    table.add_row("reports kept", str(counts["reports"]))
    for reason, n in counts["reject_reasons"]["report"].items():
        table.add_row(f"  report rejected: {reason}", f"[red]{n}[/]")
    table.add_row("image files kept", str(counts["image_files"]))
    table.add_row("images (frames) written", str(counts["images"]))
    for reason, n in counts["reject_reasons"]["image"].items():
        table.add_row(f"  image rejected: {reason}", f"[red]{n}[/]")
    table.add_row("reports with images", str(counts["reports_with_images"]))
    table.add_row("images without a report", str(counts["images_without_report"]))
    console.print(table)


# --------------------------------------------------------------------------- evaluation


def evaluate_ingest(ws: Workspace, truth: Path | None) -> dict[str, Any]:
    """Counts of the ingest stage and, given a phantom ``truth`` folder, how well it did.

    With truth: ``good_recall`` (share of good image files ingested),
    ``corrupt_rejected`` (share of corrupt files rejected), ``reject_precision`` (share
    of image rejects that are truly corrupt), ``report_recall`` (share of true reports
    kept), and up to 20 examples of each kind of miss.
    """
    metrics = ws.metrics("ingest") or {}
    result: dict[str, Any] = {
        "counts": {k: metrics.get(k) for k in ("reports", "reports_rejected", "image_files", "images",
                                               "images_rejected", "rejects", "reject_reasons")},
    }
    if truth is None:
        result["truth"] = None
        return result
    truth = Path(truth)
    result["truth"] = str(truth)
    ingested = set(pq.read_table(ws.require("ingest", "images.parquet"), columns=["source"]).column(0).to_pylist())
    rejects = pq.read_table(ws.require("ingest", "rejects.parquet"), columns=["kind", "source"]).to_pylist()
    rejected = {r["source"] for r in rejects if r["kind"] == "image"}
    images_truth = truth / "images.parquet"
    if images_truth.exists():
        t = pq.read_table(images_truth, columns=["path", "corrupt"]).to_pylist()
        good = {r["path"] for r in t if not r["corrupt"]}
        corrupt = {r["path"] for r in t if r["corrupt"]}
        result["images"] = {
            "good": len(good),
            "corrupt": len(corrupt),
            "good_recall": _ratio(len(good & ingested), len(good)),
            "corrupt_rejected": _ratio(len(corrupt & rejected), len(corrupt)),
            "reject_precision": _ratio(len(rejected & corrupt), len(rejected)),
            "good_missed": sorted(good - ingested)[:20],
            "corrupt_ingested": sorted(corrupt & ingested)[:20],
        }
    reports_truth = truth / "reports.parquet"
    if reports_truth.exists():
        true_acc = set(pq.read_table(reports_truth, columns=["accession"]).column(0).to_pylist())
        kept = set(pq.read_table(ws.require("ingest", "reports.parquet"), columns=["accession"]).column(0).to_pylist())
        result["reports"] = {
            "true": len(true_acc),
            "report_recall": _ratio(len(true_acc & kept), len(true_acc)),
            "missed": sorted(true_acc - kept)[:20],
        }
    return result


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den

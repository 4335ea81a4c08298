"""The phantom PACS export: synthetic radiology reports and key images with a ground truth.

Real PACS data is private, so pacsmine ships this generator. ``generate`` writes an
export laid out as docs/export.md describes::

    OUT/reports.csv                                    accession, patient_id, modality, body_part, study_date, text
    OUT/images/<patient_id>/<accession>/<series>/<instance>.dcm
    OUT/export.json                                    generator, seed, counts, injected faults
    OUT/truth/{reports,references,mentions,distractors,images}.parquet

The phantom never imports the mining code (ingest, nlp, topics): it is the world those
stages are tested against. Same seed, same bytes. See docs/phantom.md.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..progress import console, progress
from ..workspace import atomic_path
from .catalog import catalog
from .text import Report, ReportWriter

__all__ = ["generate", "iter_reports", "TRUTH_SCHEMAS"]

TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    "reports": pa.schema([
        ("accession", pa.string()), ("patient_id", pa.string()), ("case_type", pa.string()),
        ("region", pa.string()), ("modality", pa.string()), ("findings", pa.list_(pa.string())),
        ("style", pa.int32()),
    ]),
    "references": pa.schema([
        ("accession", pa.string()), ("sentence", pa.string()), ("series", pa.int32()),
        ("series_written", pa.bool_()), ("instance", pa.int32()), ("phenomenon", pa.string()),
    ]),
    "mentions": pa.schema([
        ("accession", pa.string()), ("sentence", pa.string()), ("term", pa.string()),
        ("concept", pa.string()), ("status", pa.string()), ("phenomenon", pa.string()),
        ("family", pa.string()), ("names", pa.list_(pa.string())),
    ]),
    "distractors": pa.schema([
        ("accession", pa.string()), ("sentence", pa.string()), ("phenomenon", pa.string()),
    ]),
    "images": pa.schema([
        ("accession", pa.string()), ("series", pa.int32()), ("instance", pa.int32()), ("path", pa.string()),
        ("referenced", pa.bool_()), ("corrupt", pa.bool_()), ("findings", pa.list_(pa.string())),
    ]),
}

CSV_COLUMNS = ("accession", "patient_id", "modality", "body_part", "study_date", "text")
_FAULT_KINDS = ("missing_text", "duplicate_accession", "missing_accession")
_EPOCH = _dt.date(2005, 1, 1).toordinal()


def iter_reports(reports: int, seed: int, config: dict[str, Any]):
    """Yield ``reports`` generated :class:`~pacsmine.phantom.text.Report` objects, in order.

    One ``random.Random(seed)`` drives all text, so the stream is the same for the same
    seed and config whatever is done with it. Patients hold one or more consecutive
    reports (mean ``reports_per_patient``).
    """
    rng = random.Random(seed)
    writer = ReportWriter(catalog(), config)
    p_same_patient = 1.0 - 1.0 / max(1.0, float(config["reports_per_patient"]))
    patient_no, age, sex, date = 0, 60, "patient", _EPOCH
    prefix = f"{seed % 1000:03d}"
    for i in range(reports):
        if i == 0 or rng.random() >= p_same_patient:
            patient_no += 1
            age = 18 + int(rng.random() * 72)
            sex = writer.sexes.draw(rng.random)
            date = _EPOCH + int(rng.random() * 3300)
        else:  # a follow-up study of the same patient, a few weeks or months later
            date += 14 + int(rng.random() * 200)
        report = writer.draw_case(
            rng,
            accession=f"A{prefix}{i + 1:08d}",
            patient_id=f"P{prefix}{patient_no:07d}",
            study_date=_dt.date.fromordinal(date).isoformat(),
        )
        yield writer.write(rng, report, age, sex)


def _fault_rows(n: int, reports: int) -> dict[int, int]:
    """Report index after which each injected faulty row goes -> fault number."""
    if n <= 0 or reports <= 0:
        return {}
    return {min(reports - 1, (k + 1) * reports // (n + 1)): k for k in range(n)}


def generate(out: Path, reports: int, seed: int, config: dict[str, Any], images: bool = True) -> dict[str, Any]:
    """Write a phantom PACS export of ``reports`` reports into ``out``; return its summary.

    ``config`` is the ``[phantom]`` config section. With ``images=False`` only the
    reports and their truth are written (the text still cites images;
    ``truth/images.parquet`` is then an empty table). Returns JSON-able counts (also
    written to ``out/export.json``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    truth_dir = out / "truth"
    truth_dir.mkdir(exist_ok=True)
    chunk = max(1, int(config.get("chunk_reports", 5000)))
    faults = _fault_rows(int(config.get("faulty_reports", 0)), reports)
    injected: list[dict[str, Any]] = []
    counts = {"reports": 0, "patients": 0, "sentences_with_references": 0, "references": 0, "mentions": 0,
              "images": 0, "key_images": 0, "corrupt_images": 0, "words": 0}
    by_modality: dict[str, int] = {}
    by_case: dict[str, int] = {}
    patients: set[str] = set()
    image_writer = None
    if images:
        from .dicom import ImageWriter

        image_writer = ImageWriter(out, seed, config)

    with contextlib.ExitStack() as stack:
        csv_tmp = stack.enter_context(atomic_path(out / "reports.csv"))
        fh = stack.enter_context(open(csv_tmp, "w", newline="", encoding="utf-8"))
        rows = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        rows.writerow(CSV_COLUMNS)
        writers = {}
        for name, schema in TRUTH_SCHEMAS.items():
            tmp = stack.enter_context(atomic_path(truth_dir / f"{name}.parquet"))
            writers[name] = stack.enter_context(pq.ParquetWriter(tmp, schema, compression="zstd"))
        columns = {name: {f: [] for f in schema.names} for name, schema in TRUTH_SCHEMAS.items()}

        def flush() -> None:
            for name, cols in columns.items():
                if cols[next(iter(cols))]:
                    writers[name].write_table(pa.table(cols, schema=TRUTH_SCHEMAS[name]))
                    for values in cols.values():
                        values.clear()

        with progress() as bar:
            task = bar.add_task("phantom reports" + (" + images" if images else ""), total=reports)
            pending: list[Report] = []
            for i, report in enumerate(iter_reports(reports, seed, config)):
                rows.writerow((report.accession, report.patient_id, report.modality, report.body_part,
                               report.study_date, report.text))
                _collect(columns, report)
                counts["reports"] += 1
                counts["words"] += len(report.text.split())
                counts["references"] += len(report.references)
                counts["sentences_with_references"] += len({r[0] for r in report.references})
                counts["mentions"] += len(report.mentions)
                by_modality[report.modality] = by_modality.get(report.modality, 0) + 1
                by_case[report.case_type] = by_case.get(report.case_type, 0) + 1
                patients.add(report.patient_id)
                if i in faults:
                    injected.append(_write_fault(rows, faults[i], report, i + 1))
                if image_writer is not None:
                    pending.append(report)
                if len(pending) >= chunk or (i + 1) % chunk == 0:
                    _write_images(image_writer, pending, columns)
                    flush()
                bar.advance(task)
            _write_images(image_writer, pending, columns)
            flush()

    if image_writer is not None:
        counts["images"] = image_writer.count
        counts["key_images"] = image_writer.key_count
        counts["corrupt_images"] = len(image_writer.corrupt)
    counts["patients"] = len(patients)
    counts["mean_words"] = round(counts["words"] / max(1, counts["reports"]), 1)
    summary = {
        "generator": "pacsmine.phantom",
        "version": __version__,
        "seed": seed,
        "difficulty": config["difficulty"],
        "reports": reports,
        "images": images,
        "counts": counts,
        "modalities": dict(sorted(by_modality.items())),
        "case_types": dict(sorted(by_case.items())),
        "injected_faults": injected,
        "corrupt_images": image_writer.corrupt if image_writer is not None else [],
        "config": config,
        "truth": "truth/ (read by `pacsmine evaluate` only)",
    }
    with atomic_path(out / "export.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    console.print(f"[green]phantom[/]: {counts['reports']} reports, {counts['images']} images -> {out}")
    return summary


def _clear_previous(out: Path) -> None:
    """Remove the images of an earlier phantom in ``out``: stale DICOM files would join the new export.

    Only a folder that an earlier ``generate`` wrote (its export.json says so) is cleared;
    images beside anything else are an error rather than a deletion.
    """
    images = out / "images"
    if not images.exists():
        return
    try:
        previous = json.loads((out / "export.json").read_text("utf-8")).get("generator")
    except (OSError, ValueError):
        previous = None
    if previous != "pacsmine.phantom":
        raise FileExistsError(f"{images} exists and {out} is not a phantom export: choose an empty folder")
    shutil.rmtree(images)


def _collect(columns: dict[str, dict[str, list]], report: Report) -> None:
    acc = report.accession
    r = columns["reports"]
    r["accession"].append(acc)
    r["patient_id"].append(report.patient_id)
    r["case_type"].append(report.case_type)
    r["region"].append(report.region)
    r["modality"].append(report.modality)
    r["findings"].append(report.findings)
    r["style"].append(report.style)
    refs = columns["references"]
    for sentence, series, written, instance, phenomenon in report.references:
        refs["accession"].append(acc)
        refs["sentence"].append(sentence)
        refs["series"].append(series)
        refs["series_written"].append(written)
        refs["instance"].append(instance)
        refs["phenomenon"].append(phenomenon)
    m = columns["mentions"]
    cat = catalog()
    for sentence, term, concept, status, phenomenon in report.mentions:
        m["family"].append(cat.family[concept])
        m["names"].append(list(cat.names[concept]))
        m["accession"].append(acc)
        m["sentence"].append(sentence)
        m["term"].append(term)
        m["concept"].append(concept)
        m["status"].append(status)
        m["phenomenon"].append(phenomenon)
    dis = columns["distractors"]
    for sentence, phenomenon in report.distractors:
        dis["accession"].append(acc)
        dis["sentence"].append(sentence)
        dis["phenomenon"].append(phenomenon)


def _write_images(image_writer, pending: list[Report], columns: dict[str, dict[str, list]]) -> None:
    if image_writer is None or not pending:
        pending.clear()
        return
    img = columns["images"]
    for row in image_writer.write_reports(pending):
        for key, value in row.items():
            img[key].append(value)
    pending.clear()


def _write_fault(rows, k: int, report: Report, row_number: int) -> dict[str, Any]:
    """Write one faulty row after ``report``; describe it for export.json."""
    kind = _FAULT_KINDS[k % len(_FAULT_KINDS)]
    if kind == "missing_text":
        accession, text = f"{report.accession}X", ""
    elif kind == "duplicate_accession":
        accession, text = report.accession, "ADDENDUM:\nThis row repeats an accession number on purpose."
    else:
        accession, text = "", "This report row has no accession number on purpose."
    rows.writerow((accession, report.patient_id, report.modality, report.body_part, report.study_date, text))
    return {"kind": kind, "accession": accession, "after_accession": report.accession, "csv_row": row_number + k + 1}

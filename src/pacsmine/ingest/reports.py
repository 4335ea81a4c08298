"""Streaming readers of report tables (generic CSV, JSONL, Parquet) and report checks.

Every reader yields one ``dict`` per input row, in file order, with the canonical keys
``accession``, ``patient_id``, ``text``, ``modality``, ``body_part``, ``study_date``,
``labels`` (list of strings or None), ``source`` (file name) and ``key`` (the row
number, 1-based, as a string). A row that cannot be parsed at all is yielded as
``{"reject": (reason, detail), "source": ..., "key": ...}`` so the caller can count it;
nothing is dropped silently. Only one batch of rows is in memory at a time.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

__all__ = [
    "REPORT_FIELDS",
    "REPORT_SCHEMA",
    "REJECT_SCHEMA",
    "detect_reports",
    "iter_reports",
    "iter_csv_rows",
    "ReportChecker",
]

REPORT_FIELDS = ("accession", "patient_id", "modality", "body_part", "study_date", "text", "source", "labels")

REPORT_SCHEMA = pa.schema(
    [
        ("accession", pa.string()),
        ("patient_id", pa.string()),
        ("modality", pa.string()),
        ("body_part", pa.string()),
        ("study_date", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("labels", pa.list_(pa.string())),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("source", pa.string()),
        ("key", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)

_GENERIC_NAMES = {"reports.csv": "csv", "reports.jsonl": "jsonl", "reports.parquet": "parquet"}
_SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".xml": "openi_xml"}


def detect_reports(export: Path, config: dict[str, Any]) -> tuple[str, Path]:
    """Find the reports of an export: ``(format, path)``.

    ``format`` is one of csv, jsonl, parquet, openi_csv (path = indiana_reports.csv),
    openi_xml (path = a folder searched recursively for eCitation ``*.xml``).
    ``config`` is the ingest section; its ``reports``/``format`` keys override detection.
    ``export`` may also be a reports file itself.
    """
    export = Path(export)
    fmt = config.get("format", "auto")
    if export.is_file() or config.get("reports"):
        # An export given as one reports file (no images), or a file named in the config.
        path = export if export.is_file() else export / config["reports"]
        if not path.exists():
            raise FileNotFoundError(f"ingest.reports names {path}, which does not exist")
        if fmt == "auto":
            if path.is_dir():
                fmt = "openi_xml"
            elif path.name == "indiana_reports.csv":
                fmt = "openi_csv"
            else:
                fmt = _SUFFIX_FORMATS.get(path.suffix.lower(), "")
                if not fmt:
                    raise ValueError(f"cannot tell the format of {path}: set ingest.format")
        return fmt, path
    for name, name_fmt in _GENERIC_NAMES.items():
        if (export / name).is_file() and fmt in ("auto", name_fmt):
            return name_fmt, export / name
    for candidate in (export / "indiana_reports.csv", *sorted(export.glob("*/indiana_reports.csv"))):
        if candidate.is_file() and fmt in ("auto", "openi_csv"):
            return "openi_csv", candidate
    if fmt in ("auto", "openi_xml"):
        from .images import walk_files

        for path in walk_files(export):
            if path.suffix.lower() == ".xml" and _is_ecitation(path):
                return "openi_xml", export
    raise FileNotFoundError(
        f"no reports found in {export}: expected reports.csv, reports.jsonl, reports.parquet, "
        "indiana_reports.csv or OpenI *.xml files (or set ingest.reports)"
    )


def _is_ecitation(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"<eCitation" in fh.read(4096)
    except OSError:
        return False


def iter_reports(fmt: str, path: Path, config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Stream the report rows of ``path`` in format ``fmt`` (see module docstring)."""
    if fmt in ("openi_csv", "openi_xml"):
        from . import openi

        if fmt == "openi_csv":
            yield from openi.iter_openi_csv(path, config)
        else:
            yield from openi.iter_openi_xml(path, config)
        return
    encoding = config.get("encoding", "utf-8")
    readers = {
        "csv": lambda p: iter_csv_rows(p, encoding=encoding),
        "jsonl": lambda p: _iter_jsonl_rows(p, encoding),
        "parquet": _iter_parquet_rows,
    }
    if fmt not in readers:
        raise ValueError(f"unknown reports format '{fmt}'")
    columns = config["columns"]
    checked = fmt == "jsonl"  # a JSON object may simply omit a null field
    for raw in readers[fmt](path):
        if "reject" in raw:
            yield raw
            continue
        if not checked:
            # A misnamed column is a configuration error, not thousands of rejects.
            absent = [f"{columns[k]!r}" for k in ("accession", "patient_id", "text") if columns[k] not in raw]
            if absent:
                found = sorted(k for k in raw if k not in ("source", "key"))
                raise ValueError(f"{path.name} has no column {', '.join(absent)} (it has {found}): "
                                 "set ingest.columns")
            checked = True
        yield _map_row(raw, columns, config.get("label_separator", ";"))


def _map_row(raw: dict[str, Any], columns: dict[str, str], separator: str) -> dict[str, Any]:
    row: dict[str, Any] = {"source": raw["source"], "key": raw["key"]}
    for field in ("accession", "patient_id", "modality", "body_part", "study_date", "text"):
        row[field] = _clean(raw.get(columns[field]))
    row["labels"] = _labels(raw.get(columns["labels"]), separator)
    return row


def _clean(value: Any) -> str | None:
    """A cell as a stripped string; empty and missing become None."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a numeric column
        return None
    text = str(value).strip()
    return text or None


def _labels(value: Any, separator: str) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).split(separator)
    labels = [str(v).strip() for v in items if v is not None and str(v).strip()]
    return labels or None


# --------------------------------------------------------------------------- raw readers


def iter_csv_rows(path: Path, block_size: int = 1 << 20, encoding: str = "utf-8") -> Iterator[dict[str, Any]]:
    """Raw CSV rows (every column a string) streamed with ``pyarrow.csv.open_csv``.

    Rows with the wrong number of fields are yielded as ``malformed_row`` rejects.
    Cells are decoded from ``encoding`` here, not by Arrow, so that one invalid byte
    becomes U+FFFD in its cell instead of stopping the whole file.
    """
    import pyarrow.csv as pcsv

    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM, whatever the encoding
    header = next(csv.reader(io.StringIO(head.decode(encoding, "replace"), newline="")), None)
    if not header:
        return
    bad: list[tuple[str, str]] = []

    def on_invalid(row) -> str:
        number = "" if row.number is None else str(row.number)
        bad.append((number, f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text[:200]!r}"))
        return "skip"

    reader = pcsv.open_csv(
        path,
        # The header as Python read it (a BOM stripped), so the names match column_types.
        read_options=pcsv.ReadOptions(block_size=block_size, use_threads=False, column_names=header, skip_rows=1),
        # Quoted report text spans lines; every column stays a string (accession "007").
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.binary() for name in header}, strings_can_be_null=False
        ),
    )
    number = 0
    for batch in reader:
        for key, detail in bad:
            yield {"reject": ("malformed_row", detail), "source": path.name, "key": key}
        bad.clear()
        for raw in batch.to_pylist():
            number += 1
            raw = {k: (v.decode(encoding, "replace") if isinstance(v, bytes) else v) for k, v in raw.items()}
            raw["source"] = path.name
            raw["key"] = str(number)
            yield raw
    for key, detail in bad:
        yield {"reject": ("malformed_row", detail), "source": path.name, "key": key}


def _iter_jsonl_rows(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, Any]]:
    # An invalid byte becomes U+FFFD in its line rather than stopping the file.
    with open(path, encoding=encoding, errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError(f"a JSON {type(raw).__name__}, not an object")
            except ValueError as exc:
                yield {"reject": ("malformed_row", f"line {number}: {exc}"), "source": path.name, "key": str(number)}
                continue
            raw["source"] = path.name
            raw["key"] = str(number)
            yield raw


def _iter_parquet_rows(path: Path, batch_size: int = 8192) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        for raw in batch.to_pylist():
            number += 1
            raw["source"] = path.name
            raw["key"] = str(number)
            yield raw


# --------------------------------------------------------------------------- checks


class ReportChecker:
    """Decides whether a report row is kept, and why not.

    ``check(row)`` returns None for a good row (and remembers its accession) or
    ``(reason, detail)``: ``missing_accession``, ``missing_patient_id``, ``missing_text``,
    ``duplicate_accession`` (the first row with an accession wins). The seen
    accessions are the one thing held for the whole archive (a set of short strings).
    """

    def __init__(self, missing_patient_id: str = "reject"):
        if missing_patient_id not in ("reject", "accession"):
            raise ValueError("ingest.missing_patient_id must be 'reject' or 'accession'")
        self.missing_patient_id = missing_patient_id
        self.seen_: dict[str, str] = {}

    def remember(self, accession: str, where: str = "") -> None:
        """Mark an accession as taken (when resuming from finished chunks)."""
        self.seen_.setdefault(accession, where)

    def check(self, row: dict[str, Any]) -> tuple[str, str] | None:
        if "reject" in row:
            return row["reject"]
        accession = row.get("accession")
        if not accession:
            return "missing_accession", "no accession number"
        if not row.get("text"):
            return "missing_text", f"report {accession} has no text"
        if not row.get("patient_id"):
            if self.missing_patient_id == "reject":
                return "missing_patient_id", f"report {accession} has no patient id"
            row["patient_id"] = accession
        if accession in self.seen_:
            return "duplicate_accession", f"accession {accession} already read at {self.seen_[accession]}"
        self.seen_[accession] = f"{row.get('source')}:{row.get('key')}"
        return None

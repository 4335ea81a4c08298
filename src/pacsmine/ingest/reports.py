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

from .decode import TextDecoder
from .errors import IngestError

__all__ = [
    "REPORT_FIELDS",
    "REPORT_SCHEMA",
    "REJECT_SCHEMA",
    "detect_reports",
    "check_columns",
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
_REQUIRED = ("accession", "patient_id", "text")
_SCALARS = ("accession", "patient_id", "modality", "body_part", "study_date", "text")


def detect_reports(export: Path, config: dict[str, Any]) -> tuple[str, Path]:
    """Find the reports of an export: ``(format, path)``.

    ``format`` is one of csv, jsonl, parquet, openi_csv (path = indiana_reports.csv),
    openi_xml (path = a folder searched recursively for eCitation ``*.xml``).
    ``config`` is the ingest section; its ``reports``/``format`` keys override detection.
    ``export`` may also be a reports file itself. Raises :class:`IngestError` when no
    reports are found or their format cannot be told.
    """
    export = Path(export)
    fmt = config.get("format", "auto")
    if export.is_file() or config.get("reports"):
        # An export given as one reports file (no images), or a file named in the config.
        path = export if export.is_file() else export / config["reports"]
        if not path.exists():
            raise IngestError("the reports file named by ingest.reports does not exist", str(path),
                              "set --set ingest.reports=FILE relative to the export")
        if fmt == "auto":
            if path.is_dir():
                fmt = "openi_xml"
            elif path.name == "indiana_reports.csv":
                fmt = "openi_csv"
            else:
                fmt = _SUFFIX_FORMATS.get(path.suffix.lower(), "")
                if not fmt:
                    raise IngestError("cannot tell the reports format from the file name", str(path),
                                      "set --set ingest.format=csv (or jsonl, parquet, openi_csv, openi_xml)")
        return fmt, path
    for name, name_fmt in _GENERIC_NAMES.items():
        if (export / name).is_file() and fmt in ("auto", name_fmt):
            return name_fmt, export / name
    for candidate in (export / "indiana_reports.csv", *sorted(export.glob("*/indiana_reports.csv"))):
        if candidate.is_file() and fmt in ("auto", "openi_csv"):
            return "openi_csv", candidate
    if fmt in ("auto", "openi_xml"):
        from .images import walk_files
        from .paths import confinement

        root = export.resolve()
        for path in walk_files(export):
            if path.suffix.lower() == ".xml" and confinement(root, path) is None and _is_ecitation(path):
                return "openi_xml", export
    raise IngestError(
        "no reports found", str(export),
        "expected reports.csv, reports.jsonl, reports.parquet, indiana_reports.csv or OpenI *.xml files; "
        "name the file with --set ingest.reports=FILE",
    )


def _is_ecitation(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"<eCitation" in fh.read(4096)
    except OSError:
        return False


def check_columns(fmt: str, path: Path, config: dict[str, Any]) -> None:
    """Raise :class:`IngestError` when a generic reports file lacks a required column
    (``accession``, ``patient_id``, ``text`` as mapped by ``ingest.columns``) or, for
    Parquet, maps a column of a type that cannot be text. CSV and Parquet only: JSONL and
    OpenI rows may simply omit a field."""
    columns = config["columns"]
    if fmt == "csv":
        names = _csv_header(Path(path), TextDecoder(config.get("encoding", "utf-8"), "replace")) or []
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        names = schema.names
        _check_parquet_types(Path(path), schema, columns)
    else:
        return
    _check_present(Path(path), names, columns)


def _check_present(path: Path, names, columns: dict[str, str]) -> None:
    absent = [k for k in _REQUIRED if columns[k] not in names]
    if absent:
        found = sorted(n for n in names if n not in ("source", "key"))
        fixes = " ".join(f"--set ingest.columns.{k}=NAME" for k in absent)
        raise IngestError(f"{path.name} has no column {', '.join(repr(columns[k]) for k in absent)}",
                          f"{path}; its columns: {found}", f"name the right column with {fixes}")


def _textual(dtype: pa.DataType, labels: bool = False) -> bool:
    """Whether a column of Arrow type ``dtype`` can be read as text (labels: as a list of it)."""
    t = pa.types
    if t.is_dictionary(dtype):
        return _textual(dtype.value_type, labels)
    if labels and (t.is_list(dtype) or t.is_large_list(dtype) or t.is_fixed_size_list(dtype)):
        return _textual(dtype.value_type)
    return (t.is_string(dtype) or t.is_large_string(dtype) or t.is_binary(dtype) or t.is_large_binary(dtype)
            or t.is_fixed_size_binary(dtype) or t.is_integer(dtype) or t.is_floating(dtype) or t.is_decimal(dtype)
            or t.is_boolean(dtype) or t.is_temporal(dtype) or t.is_null(dtype))


def _check_parquet_types(path: Path, schema: pa.Schema, columns: dict[str, str]) -> None:
    for field, name in columns.items():
        index = schema.get_field_index(name)
        if index < 0:
            continue
        dtype = schema.field(index).type
        if not _textual(dtype, labels=field == "labels"):
            kind = "a list of strings or " if field == "labels" else ""
            raise IngestError(
                f"column {name!r} of {path.name} is {dtype}, which cannot be read as text", str(path),
                f"store it as {kind}string, or map another column with --set ingest.columns.{field}=NAME",
            )


def iter_reports(fmt: str, path: Path, config: dict[str, Any], stats: dict | None = None) -> Iterator[dict[str, Any]]:
    """Stream the report rows of ``path`` in format ``fmt`` (see module docstring).

    Text is decoded with ``ingest.encoding`` and ``ingest.encoding_errors``; when
    ``stats`` is given, ``stats["replaced_characters"][file name]`` receives the number
    of byte sequences that did not decode (only files with any). A required column
    missing from the file, or a Parquet column that cannot be text, raises
    :class:`IngestError`.
    """
    decoder = TextDecoder(config.get("encoding", "utf-8"), config.get("encoding_errors", "replace"))
    yield from _iter_reports(fmt, Path(path), config, decoder)
    if stats is not None and decoder.replaced:
        stats.setdefault("replaced_characters", {})[Path(path).name] = decoder.replaced


def _iter_reports(fmt: str, path: Path, config: dict[str, Any], decoder: TextDecoder) -> Iterator[dict[str, Any]]:
    if fmt in ("openi_csv", "openi_xml"):
        from . import openi

        if fmt == "openi_csv":
            yield from openi.iter_openi_csv(path, config, decoder)
        else:
            yield from openi.iter_openi_xml(path, config)
        return
    if fmt not in ("csv", "jsonl", "parquet"):
        raise IngestError(f"unknown reports format {fmt!r}", "ingest.format",
                          "set --set ingest.format=auto (or csv, jsonl, parquet, openi_csv, openi_xml)")
    columns = config["columns"]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        _check_parquet_types(path, pq.read_schema(path), columns)
        rows = _iter_parquet_rows(path)
    elif fmt == "csv":
        rows = iter_csv_rows(path, decoder=decoder)
    else:
        rows = _iter_jsonl_rows(path, decoder)
    checked = fmt == "jsonl"  # a JSON object may simply omit a null field
    separator = config.get("label_separator", ";")
    for raw in rows:
        if "reject" in raw:
            yield raw
            continue
        if not checked:
            # A misnamed column is a configuration error, not thousands of rejects.
            _check_present(path, list(raw), columns)
            checked = True
        yield _map_row(raw, columns, separator, decoder)


def _map_row(raw: dict[str, Any], columns: dict[str, str], separator: str, decoder: TextDecoder) -> dict[str, Any]:
    """A raw row in the canonical keys, or a ``not_text`` / ``undecodable_text`` reject."""
    row: dict[str, Any] = {"source": raw["source"], "key": raw["key"]}
    field = ""
    try:
        for field in _SCALARS:
            row[field] = _clean(raw.get(columns[field]), decoder)
        field = "labels"
        row["labels"] = _labels(raw.get(columns["labels"]), separator, decoder)
    except TypeError as exc:
        return {"reject": ("not_text", f"column {columns[field]!r} holds {exc}, not text"), **row}
    except UnicodeDecodeError as exc:
        return {"reject": ("undecodable_text", f"column {columns[field]!r}: {exc}"), **row}
    return row


def _clean(value: Any, decoder: TextDecoder) -> str | None:
    """A cell as a stripped string; empty and missing become None; bytes are decoded.

    Raises TypeError (naming the value's type) for a value that is not a scalar."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = decoder(value)
    elif isinstance(value, (dict, list, tuple, set)):
        raise TypeError(f"a {type(value).__name__}")
    elif isinstance(value, float) and value != value:  # NaN from a numeric column
        return None
    else:
        text = str(value)
    text = text.strip()
    return text or None


def _labels(value: Any, separator: str, decoder: TextDecoder) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        items = [_clean(v, decoder) for v in value]
    else:
        items = [v.strip() for v in (_clean(value, decoder) or "").split(separator)]
    labels = [v for v in items if v]
    return labels or None


# --------------------------------------------------------------------------- raw readers


def _csv_header(path: Path, decoder: TextDecoder) -> list[str] | None:
    """The header row as the reader takes it (a UTF-8 BOM stripped, whatever the encoding)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf")
    # Not counted as replaced: the head holds rows the reader decodes (and counts) again.
    return next(csv.reader(io.StringIO(head.decode(decoder.encoding, "replace"), newline="")), None)


def iter_csv_rows(path: Path, block_size: int = 1 << 20, encoding: str = "utf-8",
                  decoder: TextDecoder | None = None) -> Iterator[dict[str, Any]]:
    """Raw CSV rows (every column a string) streamed with ``pyarrow.csv.open_csv``.

    Rows with the wrong number of fields are yielded as ``malformed_row`` rejects (key:
    the row's number among the data rows, blank lines included, as Arrow counts), cells
    that do not decode under a ``strict`` decoder as ``undecodable_text``. Cells are
    decoded by ``decoder`` (default: ``encoding``, invalid bytes -> U+FFFD), not by
    Arrow, so one invalid byte never stops the file. A row longer than ``block_size``
    (a 10 MB report, a long line without punctuation) makes Arrow stop with "straddles
    two block boundaries"; the rest of the file is then read by Python's ``csv`` module,
    which reads rows of any length, so that every row still arrives.
    """
    import pyarrow.csv as pcsv

    path = Path(path)
    decoder = decoder or TextDecoder(encoding, "replace")
    header = _csv_header(path, decoder)
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
    name = path.name
    number = 0  # kept rows so far (their key)
    given = 0  # data rows given out, kept or malformed: where a fallback resumes
    encoding = decoder.encoding
    try:
        for batch in reader:
            for key, detail in bad:
                given += 1
                yield {"reject": ("malformed_row", detail), "source": name, "key": key}
            bad.clear()
            for raw in batch.to_pylist():
                number += 1
                given += 1
                try:
                    row = {k: v.decode(encoding) for k, v in raw.items()}
                except UnicodeDecodeError:
                    row = _decode_cells(raw, decoder)
                row["source"] = name
                row["key"] = str(number)
                yield row
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc):
            raise
        yield from _iter_csv_python(path, len(header), list(header), decoder, given, number)
        return
    for key, detail in bad:
        yield {"reject": ("malformed_row", detail), "source": name, "key": key}


def _decode_cells(raw: dict[str, bytes], decoder: TextDecoder) -> dict[str, Any]:
    """Cells decoded one by one; a strict decoder's failure makes the row a reject."""
    row: dict[str, Any] = {}
    for k, v in raw.items():
        try:
            row[k] = decoder(v)
        except UnicodeDecodeError as exc:
            return {"reject": ("undecodable_text", f"column {k!r}: {exc}")}
    return row


def _iter_csv_python(path: Path, width: int, header: list[str], decoder: TextDecoder, skip: int,
                     number: int) -> Iterator[dict[str, Any]]:
    """The CSV rows after the first ``skip`` data rows, read by Python's ``csv`` module
    (rows of any length); same keys and rejects as the Arrow reader."""
    # Python's csv refuses fields over 128 kB by default; a report may be far longer.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    name = path.name
    # Latin-1 maps each byte to one character, so the delimiters of any ASCII-compatible
    # encoding are found and every cell's bytes come back exactly for the decoder.
    with open(path, encoding="latin-1", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        index = given = 0
        for cells in reader:
            index += 1
            if not cells:
                continue  # a blank line: Arrow skips it, and counts it
            given += 1
            if given <= skip:
                continue
            if len(cells) != width:
                text = ",".join(cells).encode("latin-1").decode(decoder.encoding, "replace")
                yield {"reject": ("malformed_row", f"expected {width} fields, got {len(cells)}: {text[:200]!r}"),
                       "source": name, "key": str(index)}
                continue
            number += 1
            row = _decode_cells({k: v.encode("latin-1") for k, v in zip(header, cells)}, decoder)
            row["source"] = name
            row["key"] = str(number)
            yield row


def _iter_jsonl_rows(path: Path, decoder: TextDecoder) -> Iterator[dict[str, Any]]:
    # Each line is decoded on its own: an invalid byte is replaced (or, strict, rejects
    # its line) rather than stopping the file.
    with open(path, "rb") as fh:
        for number, data in enumerate(fh, 1):
            if not data.strip():
                continue
            try:
                raw = json.loads(decoder(data))
                if not isinstance(raw, dict):
                    raise ValueError(f"a JSON {type(raw).__name__}, not an object")
            except UnicodeDecodeError as exc:
                yield {"reject": ("undecodable_text", f"line {number}: {exc}"), "source": path.name, "key": str(number)}
                continue
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
    ``(reason, detail)``: ``missing_accession``, ``missing_text``, ``report_too_large``
    (text over ``max_report_bytes`` UTF-8 bytes; None = no limit),
    ``missing_patient_id``, ``duplicate_accession`` (the first row with an accession
    wins), or the reader's own reject. The seen accessions are the one thing held for
    the whole archive (a set of short strings).
    """

    def __init__(self, missing_patient_id: str = "reject", max_report_bytes: int | None = None):
        if missing_patient_id not in ("reject", "accession"):
            raise IngestError(f"unknown ingest.missing_patient_id {missing_patient_id!r}",
                              "ingest.missing_patient_id", "set it to 'reject' or 'accession'")
        self.missing_patient_id = missing_patient_id
        self.max_report_bytes = max_report_bytes
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
        text = row.get("text")
        if not text:
            return "missing_text", f"report {accession} has no text"
        limit = self.max_report_bytes
        # Characters <= UTF-8 bytes <= 4 x characters: encode only when it can matter.
        if limit and len(text) * 4 > limit:
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > limit:
                return "report_too_large", (f"report {accession} is {size} bytes, over the {limit}-byte limit "
                                            "(raise ingest.max_report_bytes to keep it)")
        if not row.get("patient_id"):
            if self.missing_patient_id == "reject":
                return "missing_patient_id", f"report {accession} has no patient id"
            row["patient_id"] = accession
        if accession in self.seen_:
            return "duplicate_accession", f"accession {accession} already read at {self.seen_[accession]}"
        self.seen_[accession] = f"{row.get('source')}:{row.get('key')}"
        return None

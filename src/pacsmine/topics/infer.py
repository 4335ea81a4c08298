"""``pacsmine topics infer``: label new reports with a workspace's saved topic models.

Report files are read by the ingest stage's readers (same formats, column mapping,
encodings and rejects; a rejected row gets a JSON line with an ``error``), stdin as one
report per line. Reports are tokenised exactly as the extract stage did (its tokenizer
and kept vocabulary), their level-1 mixture is inferred with topics fixed, and the
level-2 model of the arg-max parent (if that parent was split) gives the level-2 label.
One JSON object per report: ``{"accession", "level1", "level1_theta", "level2"}``, or
``{"accession", "error", "detail", "source", "key"}`` for a rejected row.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..streams import chunked
from .lda import TopicModel

__all__ = ["infer_reports", "read_reports", "TopicLabeller"]


def read_reports(reports: Path | str, ingest: dict[str, Any] | None = None
                 ) -> Iterator[tuple[str | None, str | None, dict[str, str] | None]]:
    """``(accession or None, text, error)`` per report of stdin ("-": one report per
    non-empty line) or of a reports file read by the ingest stage's own readers.

    ``ingest`` is the ``[ingest]`` config section (default: the shipped one): its
    ``format``, ``columns``, ``encoding`` apply exactly as in ``pacsmine ingest``, so a
    file ingest reads, infer reads the same way (CSV, JSONL, Parquet, OpenI CSV/XML).
    Only the text column is required here: a file without an accession column gives
    accession None. A row the reader rejects (a malformed line, an empty text) comes
    back with text None and ``error = {"error": reason, "detail", "source", "key"}``
    so that it gets an output line instead of vanishing.
    """
    if str(reports) == "-":
        for line in sys.stdin:
            line = line.rstrip("\n")
            if line.strip():
                yield None, line, None
        return
    from ..ingest.reports import detect_reports, iter_reports

    if ingest is None:
        from ..config import load_config

        ingest = load_config()["ingest"]
    fmt, path = detect_reports(Path(reports), ingest)
    columns = dict(ingest["columns"])
    present = _column_names(fmt, path, ingest.get("encoding", "utf-8"))
    absent: set[str] = set()
    if present is not None:
        if columns["text"] not in present:
            raise ValueError(f"{path.name} has no column {columns['text']!r} (it has {sorted(present)}): "
                             "set ingest.columns.text")
        # Ingest requires accession and patient id columns; labelling needs neither, so a
        # missing one reads the text column instead and is dropped from the row.
        for key in ("accession", "patient_id"):
            if columns[key] not in present:
                columns[key] = columns["text"]
                absent.add(key)
    for row in iter_reports(fmt, path, dict(ingest, columns=columns)):
        accession = None if "accession" in absent else row.get("accession")
        if "reject" in row:
            reason, detail = row["reject"]
        elif not row.get("text"):
            reason, detail = "missing_text", f"report {accession or 'row ' + str(row['key'])} has no text"
        else:
            yield accession, row["text"], None
            continue
        yield accession, None, {"error": reason, "detail": detail, "source": row["source"], "key": row["key"]}


def _column_names(fmt: str, path: Path, encoding: str) -> list[str] | None:
    """The columns of a generic CSV or Parquet reports file (None for the formats whose
    rows may simply omit a field: JSONL, OpenI). The CSV header is read as the ingest
    reader reads it: a UTF-8 BOM stripped, invalid bytes replaced."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if fmt == "csv":
        with open(path, "rb") as fh:
            head = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf")
        return next(csv.reader(io.StringIO(head.decode(encoding, "replace"), newline="")), None) or []
    return None


class TopicLabeller:
    """The level-1 model and the level-2 models of a finished topics stage.

    ``label(token_lists)`` -> list of dicts with ``level1``, ``level1_theta``, ``level2``.
    Level-2 models are loaded on first use of their parent.
    """

    def __init__(self, topics_dir: Path, workers: int = 0, infer_iterations: int = 100):
        self.topics_dir = Path(topics_dir)
        self.workers = workers
        self.infer_iterations = infer_iterations
        self.level1 = TopicModel.load(self.topics_dir / "level1" / "model.bin", workers, infer_iterations)
        self._level2: dict[str, TopicModel | None] = {}

    def _child(self, parent: str) -> TopicModel | None:
        if parent not in self._level2:
            path = self.topics_dir / "level2" / parent / "model.bin"
            self._level2[parent] = TopicModel.load(path, self.workers, self.infer_iterations) if path.exists() else None
        return self._level2[parent]

    def label(self, token_lists: Sequence[list[str]]) -> list[dict[str, Any]]:
        theta = self.level1.transform(token_lists)
        parents = [str(int(p)) for p in np.argmax(theta, axis=1)] if len(theta) else []
        level2 = [f"{p}.0" for p in parents]  # kept where the parent was not split
        # One inference call per parent model, not one per report.
        for parent in sorted(set(parents)):
            child = self._child(parent)
            if child is None:
                continue
            rows = [i for i, p in enumerate(parents) if p == parent]
            sub = child.transform([token_lists[i] for i in rows])
            for i, j in zip(rows, np.argmax(sub, axis=1)):
                level2[i] = f"{parent}.{int(j)}"
        return [{"level1": p, "level1_theta": [round(float(x), 6) for x in row], "level2": l2}
                for p, row, l2 in zip(parents, theta, level2)]


def label_reports(labeller: TopicLabeller, reports: Iterable[tuple], tokenize: Callable[[str], list[str]],
                  out: io.TextIOBase, batch_size: int = 512) -> int:
    """Write one JSON line per report to ``out``, in input order; returns the number of
    reports labelled.

    ``reports``: ``(accession, text)`` or ``(accession, text, error)`` as from
    :func:`read_reports`; a report with an error is written as
    ``{"accession", "error", "detail", "source", "key"}`` and not labelled.
    """
    n = 0
    for batch in chunked(reports, batch_size):
        good = [item for item in batch if len(item) < 3 or item[2] is None]
        labels = iter(labeller.label([tokenize(item[1]) for item in good]) if good else [])
        for item in batch:
            if len(item) > 2 and item[2] is not None:
                out.write(json.dumps({"accession": item[0], **item[2]}) + "\n")
                continue
            out.write(json.dumps({"accession": item[0], **next(labels)}) + "\n")
            n += 1
        out.flush()
    return n


def extract_tokenizer(ws, config: dict[str, Any]) -> Callable[[str], list[str]]:
    """The extract stage's tokenisation: its Tokenizer (with ``tokens.terms_as_tokens``, the
    report is split into sections and sentences and each sentence's term mentions, with
    the absent ones of normal statements, become single tokens by their assertion status,
    as extract does), then its kept vocabulary."""
    import pyarrow.parquet as pq

    from ..nlp.tokens import Tokenizer, Vocabulary

    cfg = config["extract"]
    tokenizer = Tokenizer.from_config(cfg["tokens"])
    vocabulary = Vocabulary.from_table(pq.read_table(ws.require("extract", "vocabulary.parquet")))
    if not tokenizer.terms_as_tokens:
        return lambda text: list(vocabulary.transform(tokenizer.tokenize(text)))
    from ..nlp.sections import SectionSplitter
    from ..nlp.sentences import SentenceSplitter, report_spans
    from ..nlp.terms import TermAnnotator

    sections = SectionSplitter.from_config(cfg["sections"])
    splitter = SentenceSplitter.from_config(cfg["sentences"])
    annotator = TermAnnotator.from_config(cfg["terms"])
    annotate = annotator.annotate
    if cfg["terms"]["negation"]["normal_mentions"]:
        from ..nlp.negation import NormalMentions

        annotate = NormalMentions(annotator)  # as extract does: normal statements' absent findings

    def tokenize(text: str) -> list[str]:
        tokens: list[str] = []
        for _, a, b in report_spans(text or "", sections, splitter):
            sentence = text[a:b]
            spans = [(m.start, m.end, m.name, m.status) for m in annotate(sentence)]
            tokens += tokenizer.tokenize_terms(sentence, spans)
        return list(vocabulary.transform(tokens))

    return tokenize


def infer_reports(ws, config: dict[str, Any], reports: Path, output: Path | None) -> None:
    """Label the reports at ``reports`` ("-" = stdin) with ``ws``'s level-1 and level-2 models;
    JSON lines to ``output`` (written atomically) or stdout."""
    from ..workspace import atomic_path

    cfg = config["topics"]
    ws.require("topics", "level1/model.bin")
    labeller = TopicLabeller(ws.stage_dir("topics"), int(cfg["workers"]), int(cfg["infer_iterations"]))
    tokenize = extract_tokenizer(ws, config)
    rows = read_reports(reports, config["ingest"])
    if output is None:
        label_reports(labeller, rows, tokenize, sys.stdout)
        return
    with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        label_reports(labeller, rows, tokenize, fh)

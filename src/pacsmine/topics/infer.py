"""``pacsmine topics infer``: label new reports with a workspace's saved topic models.

Reports are tokenised exactly as the extract stage did (its tokenizer and kept
vocabulary), their level-1 mixture is inferred with topics fixed, and the level-2
model of the arg-max parent (if that parent was split) gives the level-2 label.
One JSON object per report: ``{"accession", "level1", "level1_theta", "level2"}``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .lda import TopicModel

__all__ = ["infer_reports", "read_reports", "TopicLabeller"]


def read_reports(reports: Path | str) -> Iterator[tuple[str | None, str]]:
    """(accession or None, text) per report of a CSV, JSONL or Parquet file, or of stdin ("-",
    one report per line). Files need a ``text`` column; ``accession`` is optional."""
    if str(reports) == "-":
        for line in sys.stdin:
            line = line.rstrip("\n")
            if line.strip():
                yield None, line
        return
    path = Path(reports)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if "text" not in names:
            raise ValueError(f"{path} has no 'text' column")
        columns = ["text"] + (["accession"] if "accession" in names else [])
        for batch in pf.iter_batches(columns=columns):
            texts = batch.column(0).to_pylist()
            accs = batch.column(1).to_pylist() if len(columns) > 1 else [None] * len(texts)
            for acc, text in zip(accs, texts):
                yield (None if acc is None else str(acc)), text or ""
    elif suffix in (".jsonl", ".ndjson", ".json"):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    yield (None if row.get("accession") is None else str(row["accession"])), row.get("text") or ""
    else:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "text" not in reader.fieldnames:
                raise ValueError(f"{path} has no 'text' column")
            for row in reader:
                yield (row.get("accession") or None), row["text"] or ""


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


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def label_reports(labeller: TopicLabeller, reports: Iterable[tuple[str | None, str]],
                  tokenize: Callable[[str], list[str]], out: io.TextIOBase, batch_size: int = 512) -> int:
    """Write one JSON line per report to ``out``; returns the number of reports labelled."""
    n = 0
    for batch in _batches(reports, batch_size):
        labels = labeller.label([tokenize(text) for _, text in batch])
        for (accession, _), label in zip(batch, labels):
            out.write(json.dumps({"accession": accession, **label}) + "\n")
            n += 1
        out.flush()
    return n


def extract_tokenizer(ws, config: dict[str, Any]) -> Callable[[str], list[str]]:
    """The extract stage's tokenisation: its Tokenizer, then its kept vocabulary."""
    import pyarrow.parquet as pq

    from ..nlp.tokens import Tokenizer, Vocabulary

    tokenizer = Tokenizer.from_config(config["extract"]["tokens"])
    vocabulary = Vocabulary.from_table(pq.read_table(ws.require("extract", "vocabulary.parquet")))
    return lambda text: list(vocabulary.transform(tokenizer.tokenize(text)))


def infer_reports(ws, config: dict[str, Any], reports: Path, output: Path | None) -> None:
    """Label the reports at ``reports`` ("-" = stdin) with ``ws``'s level-1 and level-2 models;
    JSON lines to ``output`` (written atomically) or stdout."""
    from ..workspace import atomic_path

    cfg = config["topics"]
    ws.require("topics", "level1/model.bin")
    labeller = TopicLabeller(ws.stage_dir("topics"), int(cfg["workers"]), int(cfg["infer_iterations"]))
    tokenize = extract_tokenizer(ws, config)
    if output is None:
        label_reports(labeller, read_reports(reports), tokenize, sys.stdout)
        return
    with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        label_reports(labeller, read_reports(reports), tokenize, fh)

"""Corpus statistics: the paper's Tables 1, 2 and 4 for any corpus.

* Table 1 - the corpus: documents, sentences, images (archived and key), words,
  vocabulary (distinct words, and terms kept for topic mining), words per document,
  and the most frequent words (all, and without stop words and digits).
* Table 2 - modalities: documents, archived images and key images per modality.
* Table 4 - words per sentence, over all sentences and over image-reference
  sentences (those citing at least one image): all words, words without stop words
  and digits, and disease terms only.

"Words" are the tokenizer's words and numbers before the length rule. Counts are
accumulated per batch (:class:`CorpusCounts`, JSON-serialisable) and merged, so
the statistics of 10^6 reports need only the counters in memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections import _count_elements  # what Counter.update(iterable) runs, without its Mapping test
from itertools import chain, compress
from pathlib import Path
from typing import Any

__all__ = ["CorpusCounts", "image_counts", "tables", "to_markdown", "write_stats"]

_SENTENCE_KINDS = ("all", "reference")
_MEASURES = ("words", "content_words", "disease_terms")
# Word -> "no content word" memos, one per stop-word set, shared by the counts of every
# batch of a worker (a new batch would otherwise learn its words again).
_NOT_CONTENT: dict[frozenset[str], dict[str, bool]] = {}


class CorpusCounts:
    """Additive counts over reports (one per batch, merged by :meth:`merge_json`)."""

    def __init__(self, stopwords: frozenset[str] = frozenset()):
        self.stopwords = stopwords
        self.documents = 0
        self.words = 0
        self.words_sq = 0  # sum of squared words per document (for the std)
        self.word_freq: Counter[str] = Counter()
        self.doc_freq: Counter[str] = Counter()  # of tokens: the vocabulary's input
        self.term_freq: Counter[str] = Counter()
        self.modality_docs: Counter[str] = Counter()
        self.modality_key_images: Counter[str] = Counter()
        self.sentence = {k: {"n": 0, **{m: 0 for m in _MEASURES}} for k in _SENTENCE_KINDS}
        if stopwords not in _NOT_CONTENT and len(_NOT_CONTENT) >= 4:
            _NOT_CONTENT.clear()
        self._not_content = _NOT_CONTENT.setdefault(stopwords, {})

    def add_report(self, modality, sentence_words, doc_tokens, mention_counts, has_reference) -> None:
        """One report: words of each sentence (lists), its tokens, disease mentions and
        whether it cites an image, per sentence (anything true or false: its references)."""
        every = self.sentence["all"]
        all_words = list(chain.from_iterable(sentence_words))
        # Whether a word is no content word (stop word or number), memoised: per word, not per use.
        flags = self._not_content
        try:
            n_not_content = sum(map(flags.__getitem__, all_words))
        except KeyError:
            if len(flags) > 200_000:
                flags.clear()
            stop = self.stopwords
            # Only the words not seen yet (a set difference in C), not every word of the report.
            for w in set(all_words).difference(flags):
                # Words are letters or digits (the tokenizer's pattern): a digit first means a number.
                flags[w] = w in stop or w[0] <= "9"
            n_not_content = sum(map(flags.__getitem__, all_words))
        n_words = len(all_words)
        every["n"] += len(sentence_words)
        every["words"] += n_words
        every["content_words"] += n_words - n_not_content
        every["disease_terms"] += sum(mention_counts)
        if any(has_reference):
            # The citing sentences' words and mentions, picked in C.
            cited = self.sentence["reference"]
            cited_words = list(chain.from_iterable(compress(sentence_words, has_reference)))
            cited["n"] += sum(map(bool, has_reference))
            cited["words"] += len(cited_words)
            cited["content_words"] += len(cited_words) - sum(map(flags.__getitem__, cited_words))
            cited["disease_terms"] += sum(compress(mention_counts, has_reference))
        _count_elements(self.word_freq, all_words)
        self.documents += 1
        self.words += n_words
        self.words_sq += n_words * n_words
        _count_elements(self.term_freq, doc_tokens)
        _count_elements(self.doc_freq, set(doc_tokens))
        self.modality_docs[modality or "unknown"] += 1

    def add_key_image(self, modality) -> None:
        self.modality_key_images[modality or "unknown"] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents, "words": self.words, "words_sq": self.words_sq,
            "word_freq": dict(self.word_freq), "doc_freq": dict(self.doc_freq), "term_freq": dict(self.term_freq),
            "modality_docs": dict(self.modality_docs), "modality_key_images": dict(self.modality_key_images),
            "sentence": self.sentence,
        }

    def merge_json(self, obj: dict[str, Any]) -> "CorpusCounts":
        self.documents += obj["documents"]
        self.words += obj["words"]
        self.words_sq += obj["words_sq"]
        for name in ("word_freq", "doc_freq", "term_freq", "modality_docs", "modality_key_images"):
            getattr(self, name).update(obj[name])
        for kind in _SENTENCE_KINDS:
            for key, value in obj["sentence"][kind].items():
                self.sentence[kind][key] += value
        return self


def image_counts(path: str | Path | None) -> dict[str, Any]:
    """Archived images in total and per modality, from ``ingest/images.parquet``."""
    if path is None or not Path(path).exists():
        return {"total": 0, "by_modality": {}}
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    if "modality" not in names:
        return {"total": pq.ParquetFile(path).metadata.num_rows, "by_modality": {}}
    mods = pq.read_table(path, columns=["modality"]).column("modality").to_pylist()
    return {"total": len(mods), "by_modality": dict(Counter(m or "unknown" for m in mods))}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def tables(counts: CorpusCounts, vocab, images: dict[str, Any], table_rows: dict[str, int], top: int = 20) -> dict[str, Any]:
    """The statistics as a JSON-able dict: ``table1``, ``table2``, ``table4``."""
    n = counts.documents
    mean = counts.words / n if n else 0.0
    var = counts.words_sq / n - mean * mean if n else 0.0
    stop = counts.stopwords
    content_top = [(w, c) for w, c in counts.word_freq.most_common() if w not in stop and not w.isdigit()][:top]
    table1 = {
        "documents": n,
        "sentences": table_rows.get("sentences", 0),
        "images": images.get("total", 0),
        "key_images": table_rows.get("key_images", 0),
        "words": counts.words,
        "vocabulary": len(counts.word_freq),
        "vocabulary_kept": len(vocab.kept_) if vocab is not None else None,
        "documents_kept": table_rows.get("documents", 0),
        "words_per_document": round(mean, 3),
        "words_per_document_std": round(math.sqrt(max(var, 0.0)), 3),
        "most_frequent_words": [[w, c] for w, c in counts.word_freq.most_common(top)],
        "most_frequent_content_words": [[w, c] for w, c in content_top],
    }
    modalities = sorted(set(counts.modality_docs) | set(images.get("by_modality", {})) | set(counts.modality_key_images))
    table2 = {
        m: {
            "documents": counts.modality_docs.get(m, 0),
            "images": images.get("by_modality", {}).get(m, 0),
            "key_images": counts.modality_key_images.get(m, 0),
        }
        for m in modalities
    }
    table4 = {
        kind: {
            "sentences": acc["n"],
            "words": _ratio(acc["words"], acc["n"]),
            "without_stopwords_digits": _ratio(acc["content_words"], acc["n"]),
            "disease_terms": _ratio(acc["disease_terms"], acc["n"]),
        }
        for kind, acc in counts.sentence.items()
    }
    return {"table1": table1, "table2": table2, "table4": table4}


def to_markdown(stats: dict[str, Any]) -> str:
    """The three tables as Markdown."""
    t1, t2, t4 = stats["table1"], stats["table2"], stats["table4"]
    lines = ["# Corpus statistics", "", "## Table 1: the corpus", "", "| | |", "|---|---:|"]
    for key in ("documents", "sentences", "images", "key_images", "words", "vocabulary", "vocabulary_kept",
                "documents_kept", "words_per_document", "words_per_document_std"):
        lines.append(f"| {key.replace('_', ' ')} | {t1[key]} |")
    lines += ["", "Most frequent words: " + ", ".join(f"{w} ({c})" for w, c in t1["most_frequent_words"]), ""]
    lines += ["Most frequent words without stop words and digits: "
              + ", ".join(f"{w} ({c})" for w, c in t1["most_frequent_content_words"]), ""]
    lines += ["## Table 2: modalities", "", "| modality | documents | images | key images |", "|---|---:|---:|---:|"]
    for m, row in t2.items():
        lines.append(f"| {m} | {row['documents']} | {row['images']} | {row['key_images']} |")
    lines += ["", "## Table 4: words per sentence", "",
              "| sentences | count | words | without stop words and digits | disease terms |", "|---|---:|---:|---:|---:|"]
    names = {"all": "all sentences", "reference": "image-reference sentences"}
    for kind, row in t4.items():
        lines.append(f"| {names[kind]} | {row['sentences']} | {row['words']} | {row['without_stopwords_digits']} | {row['disease_terms']} |")
    return "\n".join(lines) + "\n"


def write_stats(ctx, counts: CorpusCounts, vocab, images, table_rows, top: int = 20) -> dict[str, Any]:
    """Write ``stats.json`` and ``stats.md`` through the stage context; return the dict."""
    from ..workspace import atomic_path

    stats = tables(counts, vocab, images, table_rows, top=top)
    ctx.write_json("stats.json", stats)
    with atomic_path(ctx.path("stats.md")) as tmp:
        tmp.write_text(to_markdown(stats), "utf-8")
    return stats

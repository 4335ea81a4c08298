"""Tokens and the corpus vocabulary, as in the paper's released settings.

Two steps, because the rules are of two kinds:

* :class:`Tokenizer` - per document, no corpus knowledge: lowercase, words and
  numbers (a regex), drop tokens shorter than ``min_length`` (3), optional Porter
  stemming.
* :class:`Vocabulary` - an estimator over the corpus: ``fit`` counts document and
  term frequencies of tokenised documents (streamed: only the counts are held) and
  keeps a term unless it is found in fewer than ``min_doc_freq`` (3) documents, is
  one of the ``drop_top`` (10) most frequent terms (by document frequency), or,
  optionally, is a stop word or all digits. ``transform`` keeps the kept terms of a
  token list; :meth:`Vocabulary.keep_document` says whether a document still has
  ``min_doc_tokens`` (5) terms.

Every rule is a config value (``[extract.tokens]``, ``[extract.vocabulary]``).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import pyarrow as pa

__all__ = ["Tokenizer", "Vocabulary", "stopwords"]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stop words of ``rules/stopwords.txt`` (lower case)."""
    text = resources.files("pacsmine.nlp").joinpath("rules/stopwords.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in text.split() if w.strip() and not w.startswith("#"))


class Tokenizer:
    """Per-document token rules. ``tokenize(text) -> list[str]`` in text order."""

    def __init__(self, lowercase: bool = True, pattern: str = "[a-z]+|[0-9]+", min_length: int = 3, stem: bool = False):
        self.lowercase = lowercase
        self.pattern = pattern
        self.min_length = min_length
        self.stem = stem
        flags = 0 if lowercase else re.IGNORECASE
        self._findall = re.compile(pattern, flags).findall
        self._stems: dict[str, str] = {}
        self._stemmer = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Tokenizer":
        """Build from ``config["extract"]["tokens"]``."""
        return cls(**config)

    def words(self, text: str) -> list[str]:
        """All words and numbers of ``text`` (lowercased), before length and stemming."""
        return self._findall(text.lower() if self.lowercase else text)

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text``: words and numbers of at least ``min_length`` characters."""
        return self.filter(self.words(text))

    def filter(self, words: list[str]) -> list[str]:
        """The per-document rules after :meth:`words`: length, then optional stemming."""
        n = self.min_length
        tokens = [t for t in words if len(t) >= n]
        if self.stem:
            tokens = [self._stem(t) for t in tokens]
        return tokens

    def _stem(self, token: str) -> str:
        # A cache: a corpus has few distinct words, and Porter is slow in pure Python.
        stem = self._stems.get(token)
        if stem is None:
            if self._stemmer is None:
                from gensim.parsing.porter import PorterStemmer

                self._stemmer = PorterStemmer()
            stem = self._stems[token] = self._stemmer.stem(token) if token.isalpha() else token
        return stem


class Vocabulary:
    """Corpus-level term filter (an estimator).

    Learned attributes: ``doc_freq_`` and ``term_freq_`` (Counter term -> count),
    ``n_documents_``, ``kept_`` (frozenset of kept terms) and ``reasons_`` (term ->
    why it was dropped: ``rare``, ``frequent``, ``stopword``, ``digit``).
    """

    def __init__(
        self,
        min_doc_freq: int = 3,
        drop_top: int = 10,
        min_doc_tokens: int = 5,
        drop_stopwords: bool = False,
        drop_digits: bool = False,
    ):
        self.min_doc_freq = min_doc_freq
        self.drop_top = drop_top
        self.min_doc_tokens = min_doc_tokens
        self.drop_stopwords = drop_stopwords
        self.drop_digits = drop_digits

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Vocabulary":
        """Build (unfitted) from ``config["extract"]["vocabulary"]``."""
        return cls(**config)

    def fit(self, documents: Iterable[list[str]]) -> "Vocabulary":
        """Learn the vocabulary from an iterable of token lists (streamed)."""
        doc_freq: Counter[str] = Counter()
        term_freq: Counter[str] = Counter()
        n = 0
        for tokens in documents:
            term_freq.update(tokens)
            doc_freq.update(set(tokens))
            n += 1
        return self.fit_counts(doc_freq, term_freq, n)

    def fit_counts(self, doc_freq: Counter[str], term_freq: Counter[str], n_documents: int) -> "Vocabulary":
        """Learn the vocabulary from corpus counts (merged from parallel workers)."""
        self.doc_freq_ = Counter(doc_freq)
        self.term_freq_ = Counter(term_freq)
        self.n_documents_ = int(n_documents)
        reasons: dict[str, str] = {}
        stop = stopwords() if self.drop_stopwords else frozenset()
        for term, df in self.doc_freq_.items():
            if df < self.min_doc_freq:
                reasons[term] = "rare"
            elif term in stop:
                reasons[term] = "stopword"
            elif self.drop_digits and term.isdigit():
                reasons[term] = "digit"
        # The most frequent terms by document frequency (ties broken by the term, so
        # the result never depends on the order the corpus was read in).
        ranked = sorted(self.doc_freq_.items(), key=lambda kv: (-kv[1], kv[0]))
        for term, _ in ranked[: self.drop_top]:
            reasons.setdefault(term, "frequent")
        self.reasons_ = reasons
        self.kept_ = frozenset(t for t in self.doc_freq_ if t not in reasons)
        return self

    def transform(self, tokens: list[str]) -> list[str]:
        """The kept terms of ``tokens``, in order."""
        kept = self.kept_
        return [t for t in tokens if t in kept]

    def keep_document(self, tokens: list[str]) -> bool:
        """Whether a transformed document has enough terms to be mined."""
        return len(tokens) >= self.min_doc_tokens

    def to_table(self) -> pa.Table:
        """``vocabulary.parquet``: term, doc_freq, term_freq, kept, reason; by doc_freq."""
        terms = sorted(self.doc_freq_, key=lambda t: (-self.doc_freq_[t], t))
        return pa.table(
            {
                "term": pa.array(terms, pa.string()),
                "doc_freq": pa.array([self.doc_freq_[t] for t in terms], pa.int64()),
                "term_freq": pa.array([self.term_freq_[t] for t in terms], pa.int64()),
                "kept": pa.array([t in self.kept_ for t in terms], pa.bool_()),
                "reason": pa.array([self.reasons_.get(t) for t in terms], pa.string()),
            }
        )

    @classmethod
    def from_table(cls, table: pa.Table, **params: Any) -> "Vocabulary":
        """A fitted Vocabulary from ``extract/vocabulary.parquet`` (for ``topics infer``)."""
        vocab = cls(**params)
        cols = table.to_pydict()
        vocab.doc_freq_ = Counter(dict(zip(cols["term"], cols["doc_freq"])))
        vocab.term_freq_ = Counter(dict(zip(cols["term"], cols.get("term_freq", cols["doc_freq"]))))
        vocab.n_documents_ = 0
        vocab.reasons_ = {t: r for t, r in zip(cols["term"], cols.get("reason", [None] * len(cols["term"]))) if r}
        vocab.kept_ = frozenset(t for t, k in zip(cols["term"], cols["kept"]) if k)
        return vocab

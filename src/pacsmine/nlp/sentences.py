"""A sentence splitter made for radiology reports.

Candidate boundaries are sentence punctuation (``. ! ?``, with closing quotes or
brackets) followed by white space, and line breaks. A candidate is *not* a
boundary when

* the period closes an abbreviation of ``rules/abbreviations.txt`` ("e.g.",
  "approx.", "Dr.", "ser.", "img.", "no.", month names);
* the next word starts in lower case ("2 cc/s. then ...", "etc. and");
* the text before it in the sentence is only a list marker ("1." of "1. No pneumonia.");
* it is a single line break inside wrapped text: the next line starts in lower case,
  the line ends with a comma, hyphen, slash, open parenthesis or a joining word
  ("and", "of", ...), or a parenthesis opened in the sentence is still open.

Decimals ("2.5 mm"), dates ("12.05.2013", "11/16/2023") and rates ("2 cc/s") never
split, because a boundary needs white space after the period. A blank line always
ends a sentence; section headers and organ sub-headers do too (the splitter runs
inside :mod:`sections` segments). A sentence that is only a parenthesised key-image
reference ("(Series 3, image 45).") joins the sentence before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .sections import SectionSplitter

__all__ = ["Sentence", "SentenceSplitter", "split_report", "report_spans"]


@dataclass(frozen=True)
class Sentence:
    """A sentence: 0-based ``index`` in its report, canonical ``section`` (or None),
    ``text`` (stripped), ``start``/``end`` character offsets in the report text."""

    index: int
    section: str | None
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    text = resources.files("pacsmine.nlp").joinpath("rules/abbreviations.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


# A boundary candidate; for punctuation, the one group that matched (m.lastindex) is the
# next visible character. A run of punctuation is tried once, from its first mark, and never
# given back (possessive): tried from every mark of "......" with backtracking, a long run
# cost its length squared. "The first mark of a run" is a mark, then a look behind it (no
# mark before that one), not a look-behind first. Each branch opens with one literal
# character (".", "!", "?", line break; a set such as [.!?] there would not do): the regex
# engine then skips in C to the next mark or line break instead of trying the pattern at
# every character (twice as fast).
_MARK_TAIL = r"(?<![.!?][.!?])[.!?]*+[\"')\]]*+(?=\s|$)(?=\s*(\S?))"
_CANDIDATE = re.compile(r"\." + _MARK_TAIL + "|!" + _MARK_TAIL + r"|\?" + _MARK_TAIL + r"|\n[ \t]*\n\s*|\n")
_LIST_MARKER = re.compile(r"\s*(?:\(?\d{1,2}[.)]|[a-z][.)]|[-*\u2022])\s*$", re.IGNORECASE)
_WRAP_END = re.compile(r"[,\-/(&]\s*$|\b(?:and|or|of|the|with|to|in|a|an)\s*$", re.IGNORECASE)
_REFERENCE_ONLY = re.compile(
    r"^\(\s*(?:(?:se|ser|series|im|img|image|images)\b\.?[^()]*|\d{1,4}\s?[:;]\s?\d[^()]*)\)\.?$",
    re.IGNORECASE,
)


class SentenceSplitter:
    """Splits report text into sentences (see the module docstring for the rules)."""

    def __init__(self, newline_is_boundary: bool = True, merge_reference_only: bool = True):
        self.newline_is_boundary = newline_is_boundary
        self.merge_reference_only = merge_reference_only
        self.abbreviations_ = _abbreviations()
        # The abbreviations' last two characters, None where one is shorter or not ASCII. A
        # word whose lower() is an ASCII abbreviation lower-cases one character to one (only
        # "\u0130" gives two, one of them not ASCII), so its last two characters, lower-cased,
        # are the abbreviation's.
        abbrs = self.abbreviations_
        self._abbreviation_ends = (frozenset(a[-2:] for a in abbrs)
                                   if all(len(a) >= 2 and a.isascii() for a in abbrs) else None)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SentenceSplitter":
        """Build from ``config["extract"]["sentences"]``."""
        return cls(**config)

    def spans(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """``(start, end)`` offsets of the sentences of ``text[start:end]``, stripped of
        surrounding white space, in order."""
        end = len(text) if end is None else end
        if start and text[start - 1] in ".!?":
            # The candidate pattern looks one character behind a mark, which may lie
            # before ``start``: split the stretch on its own instead.
            return [(a + start, b + start) for a, b in self.spans(text[start:end])]
        out: list[tuple[int, int]] = []
        sent_start = start
        abbreviations, abbreviation_ends = self.abbreviations_, self._abbreviation_ends
        # Parentheses of the current sentence counted so far: [sentence start, counted up
        # to, open minus closed]. Kept from one line break to the next, so that a long
        # sentence's text is counted once, not once per line break.
        parens = [start, start, 0]
        for m in _CANDIDATE.finditer(text, start, end):
            mark = m.group()
            p, q = m.span()
            if mark[0] == "\n":
                if p == sent_start and len(mark) == 1:
                    # A single break right after a cut ("...clear.\nPLEURA"): no sentence text
                    # before it, so _line_break_ends asks only whether the next line starts in
                    # lower case, and the empty cut adds no sentence.
                    if self.newline_is_boundary:
                        nxt = q
                        while nxt < end and text[nxt] in " \t":
                            nxt += 1
                        if nxt >= end or not text[nxt].islower():
                            sent_start = q
                    continue
                if "\n" not in mark[1:] and not self._line_break_ends(text, sent_start, p, q, end, parens):
                    continue
                cut = p
            else:
                # Next visible character: lower case means the sentence goes on.
                if m.group(m.lastindex).islower():
                    continue
                if mark[0] == ".":
                    # Abbreviations are short: only the last few characters can hold one. The
                    # word ends at p (text[p - 1] is no mark): unless its last two characters
                    # end an abbreviation ("normal.", "effusion."), it is none.
                    if abbreviation_ends is None or text[max(p - 2, 0) : p].lower() in abbreviation_ends:
                        lo = p - 8 if p - 8 > sent_start else sent_start
                        cut_at = max(text.rfind(" ", lo, p), text.rfind("\n", lo, p))
                        if cut_at >= 0 or lo == sent_start:
                            word = text[cut_at + 1 if cut_at >= 0 else lo : p].lstrip("([\"'").lower()
                            if word in abbreviations or word.rstrip(".") in abbreviations:
                                continue
                    if p - sent_start < 8 and _LIST_MARKER.match(text[sent_start : p + 1]):
                        continue  # "1." of a numbered list belongs to its item
                cut = q
            # _strip, inlined (called for every sentence)
            a, b = sent_start, cut
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                out.append((a, b))
            sent_start = q
        span = _strip(text, sent_start, end)
        if span[0] < span[1]:
            out.append(span)
        # Only a sentence that starts with "(" can join the one before it.
        if self.merge_reference_only and len(out) > 1 and text.find("(", out[1][0], end) >= 0:
            merged = [out[0]]
            for s, e in out[1:]:
                if text[s] == "(" and _REFERENCE_ONLY.match(text[s:e]):
                    merged[-1] = (merged[-1][0], e)
                else:
                    merged.append((s, e))
            out = merged
        return out

    def _line_break_ends(self, text: str, sent_start: int, p: int, q: int, end: int, parens: list[int]) -> bool:
        """Does the single line break at ``[p, q)`` end the sentence that starts at
        ``sent_start``? ``parens`` is the running parenthesis count of :meth:`spans`."""
        if not self.newline_is_boundary:
            return False
        nxt = q
        while nxt < end and text[nxt] in " \t":
            nxt += 1
        if nxt >= end:
            return True
        if text[nxt].islower():
            return False
        if parens[0] != sent_start:  # a new sentence: count from its start
            parens[:] = [sent_start, sent_start, 0]
        parens[2] += text.count("(", parens[1], p) - text.count(")", parens[1], p)
        parens[1] = p
        if parens[2] > 0:
            return False  # inside parentheses: "(image 36, series\n3)"
        line_start = text.rfind("\n", sent_start, p) + 1
        return not _WRAP_END.search(text[max(line_start, sent_start, p - 40) : p])

    def split(self, text: str) -> list[str]:
        """The sentences of ``text`` as strings."""
        return [text[s:e] for s, e in self.spans(text)]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def report_spans(text: str, sections: SectionSplitter, splitter: SentenceSplitter) -> list[tuple[str | None, int, int]]:
    """``[(section, start, end), ...]``: the report's sentences as plain tuples (the
    extract stage's hot path; :func:`split_report` wraps them in :class:`Sentence` s)."""
    out: list[tuple[str | None, int, int]] = []
    spans = splitter.spans
    for section, _, start, end in sections.split_tuples(text):
        out += [(section, s, e) for s, e in spans(text, start, end)]
    return out


def split_report(text: str, sections: SectionSplitter, splitter: SentenceSplitter) -> list[Sentence]:
    """Sections, then sentences inside each segment: the report's :class:`Sentence` list."""
    return [Sentence(i, sec, text[s:e], s, e) for i, (sec, s, e) in enumerate(report_spans(text, sections, splitter))]

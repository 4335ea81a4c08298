"""Report sections: HISTORY, INDICATION, TECHNIQUE, COMPARISON, FINDINGS, IMPRESSION,
CONCLUSION, found from their written headers.

A header is one of the variants in ``rules/sections.toml`` followed by a colon, at
the start of a line or right after the end of a sentence ("... normal. IMPRESSION:
..."), or alone on an upper-case line ("FINDINGS"). Organ sub-headers ("LUNGS:",
or any line-initial upper-case ``WORDS:``) do not change the section; they cut the
section into segments (so a sentence never runs across them) and open FINDINGS
when no section is open yet. A report without headers is one segment whose
section is None.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["Segment", "SectionSplitter", "CANONICAL"]

CANONICAL = ("HISTORY", "INDICATION", "TECHNIQUE", "COMPARISON", "FINDINGS", "IMPRESSION", "CONCLUSION")


@dataclass(frozen=True)
class Segment:
    """A stretch ``[start, end)`` of the report text (character offsets) in section
    ``section`` (canonical name or None). ``header`` is the header as written that
    opened it (a section or organ header, or None). Section headers are left out of
    the segment; an organ header stays in it, as the start of its first sentence."""

    section: str | None
    header: str | None
    start: int
    end: int


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    text = resources.files("pacsmine.nlp").joinpath("rules/sections.toml").read_text("utf-8")
    return tomllib.loads(text)


def _by_first_letter(words: list[str]) -> str:
    """``words`` (lower case, in the order to try them) as regex alternatives grouped by
    their first character: "l(?:ungs|ung|iver)|b(?:ones|owel)". The same matches as the
    flat "lungs|ung|...": words with other first characters never match where one does, and
    inside a group the order is kept; but each position tries one branch per first
    character, not one per word (a third faster on CT findings and IU X-ray)."""
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[0], []).append(re.escape(w[1:]))
    return "|".join(re.escape(c) + ("(?:%s)" % "|".join(rests) if rests != [""] else "") for c, rests in groups.items())


class SectionSplitter:
    """Cuts a report into :class:`Segment` s.

    ``organ_headers_imply_findings``: an organ sub-header seen while no section is
    open opens FINDINGS (CT reports often start with "LUNGS:" and no FINDINGS header).
    """

    def __init__(self, organ_headers_imply_findings: bool = True):
        self.organ_headers_imply_findings = organ_headers_imply_findings
        rules = _rules()
        self.variants_ = {v.lower(): name for name in CANONICAL for v in rules.get(name, [])}
        self.organs_ = {o.lower() for o in rules.get("organs", [])}
        alts = _by_first_letter(sorted(self.variants_, key=len, reverse=True))
        organ_alts = _by_first_letter(sorted(self.organs_, key=len, reverse=True))
        # Section header: line start or after a sentence end; a colon, or alone on its line.
        # (Each sentence end written as its own branch: see the fast twins below.)
        self._section = re.compile(
            r"(?:\A|\n|\.[ \t]{1,2}|![ \t]{1,2}|\?[ \t]{1,2})[ \t]*(?P<h>" + alts + r")[ \t]*(?::|(?=[ \t]*(?:\n|\Z)))",
            re.IGNORECASE,
        )
        # Organ sub-header: a known organ anywhere a sentence may start, or any
        # line-initial upper-case words ending in a colon.
        self._organ = re.compile(
            r"(?:\A|\n|\.[ \t]|![ \t]|\?[ \t])[ \t]*(?P<o>(?i:" + organ_alts + r")|[A-Z][A-Z/&,\- ]{1,38}[A-Z])[ \t]*:(?!\d)",
        )
        # Fast twins, run on "\n" + text (offsets one more): without the leading \A every
        # branch of the pattern starts with one literal character ("\n", ".", "!", "?"; a
        # set such as [.!?] there would not do), which the regex engine scans for in C
        # instead of trying the pattern at every character; the section twin is
        # case-sensitive, for the lower-cased text of an ASCII report.
        self._section_nl = re.compile(self._section.pattern.replace(r"(?:\A|\n|", r"(?:\n|", 1).replace(alts, alts.lower(), 1))
        self._organ_nl = re.compile(self._organ.pattern.replace(r"(?:\A|\n|", r"(?:\n|", 1))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SectionSplitter":
        """Build from ``config["extract"]["sections"]``."""
        return cls(**config)

    def split(self, text: str) -> list[Segment]:
        """Segments of ``text`` in order; together they cover every non-header character."""
        return [Segment(*seg) for seg in self.split_tuples(text)]

    def split_tuples(self, text: str) -> list[tuple[str | None, str | None, int, int]]:
        """:meth:`split` as plain ``(section, header, start, end)`` tuples (the hot path)."""
        marks: list[tuple[int, int, str | None, str]] = []  # (header start, body start, section, header)
        variants = self.variants_
        if text.isascii():  # lower() keeps every offset
            found = [(m.start("h") - 1, m.end("h") - 1, m.end() - 1, m.group(0)) for m in self._section_nl.finditer("\n" + text.lower())]
        else:
            found = [(m.start("h"), m.end("h"), m.end(), m.group(0)) for m in self._section.finditer(text)]
        for h_start, h_end, body_start, whole in found:
            header = text[h_start:h_end]
            if header.islower() and whole.rstrip()[-1:] != ":":
                continue  # a lower-case word alone on a line is text, not a header
            marks.append((h_start, body_start, variants[header.lower()], header))
        if not marks and ":" not in text:
            return [(None, None, 0, len(text))] if text.strip() else []
        # Section headers found above, as [start, body start) stretches: disjoint and in
        # text order, as are the organ candidates below, so one pointer walks both lists
        # (linear in the number of headers; testing every stretch per candidate was
        # quadratic, 702 s for a 10 MB report).
        taken = [(a, b) for a, b, _, _ in marks]
        j, n_taken = 0, len(taken)
        for m in self._organ_nl.finditer("\n" + text):
            s = m.start("o") - 1
            while j < n_taken and taken[j][1] <= s:
                j += 1
            if j < n_taken and taken[j][0] <= s:
                continue  # inside a section header
            organ = m.group("o")
            if organ.lower() in variants:
                continue
            marks.append((s, s, None, organ))  # organ header stays in the body
        if not marks:
            return [(None, None, 0, len(text))] if text.strip() else []
        marks.sort()
        segments: list[tuple[str | None, str | None, int, int]] = []
        if text[: marks[0][0]].strip():
            segments.append((None, None, 0, marks[0][0]))
        current: str | None = None
        for i, (h_start, body_start, section, header) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
            if section is not None:
                current = section
            elif current is None and self.organ_headers_imply_findings:
                current = "FINDINGS"
            if text[body_start:end].strip():
                segments.append((current, header, body_start, end))
        return segments

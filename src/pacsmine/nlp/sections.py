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
        alts = "|".join(re.escape(v) for v in sorted(self.variants_, key=len, reverse=True))
        organ_alts = "|".join(re.escape(o) for o in sorted(self.organs_, key=len, reverse=True))
        # Section header: line start or after a sentence end; a colon, or alone on its line.
        self._section = re.compile(
            r"(?:\A|\n|[.!?][ \t]{1,2})[ \t]*(?P<h>" + alts + r")[ \t]*(?::|(?=[ \t]*(?:\n|\Z)))",
            re.IGNORECASE,
        )
        # Organ sub-header: a known organ anywhere a sentence may start, or any
        # line-initial upper-case words ending in a colon.
        self._organ = re.compile(
            r"(?:\A|\n|[.!?][ \t])[ \t]*(?P<o>(?i:" + organ_alts + r")|[A-Z][A-Z/&,\- ]{1,38}[A-Z])[ \t]*:(?!\d)",
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SectionSplitter":
        """Build from ``config["extract"]["sections"]``."""
        return cls(**config)

    def split(self, text: str) -> list[Segment]:
        """Segments of ``text`` in order; together they cover every non-header character."""
        marks: list[tuple[int, int, str | None, str]] = []  # (header start, body start, section, header)
        for m in self._section.finditer(text):
            header = m.group("h")
            if header.islower() and m.group(0).rstrip()[-1:] != ":":
                continue  # a lower-case word alone on a line is text, not a header
            marks.append((m.start("h"), m.end(), self.variants_[header.lower()], header))
        if not marks and ":" not in text:
            return [Segment(None, None, 0, len(text))] if text.strip() else []
        taken = [(a, b) for a, b, _, _ in marks]
        for m in self._organ.finditer(text):
            s = m.start("o")
            if any(a <= s < b for a, b in taken):
                continue
            if m.group("o").lower() in self.variants_:
                continue
            marks.append((s, s, None, m.group("o")))  # organ header stays in the body
        if not marks:
            return [Segment(None, None, 0, len(text))] if text.strip() else []
        marks.sort()
        segments: list[Segment] = []
        if text[: marks[0][0]].strip():
            segments.append(Segment(None, None, 0, marks[0][0]))
        current: str | None = None
        for i, (h_start, body_start, section, header) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
            if section is not None:
                current = section
            elif current is None and self.organ_headers_imply_findings:
                current = "FINDINGS"
            if text[body_start:end].strip():
                segments.append(Segment(current, header, body_start, end))
        return segments

"""Abbreviation tables: which short form stands for which phrase.

In: TSV text with the columns ``abbreviation``, ``expansion`` and ``default`` ("yes": used
unless switched off, "no": ambiguous, used only when asked for by name); ``#`` lines are
comments. Out: ``[(abbreviation, expansion), ...]`` of the rows asked for. The matcher looks
each expansion up in the combined vocabulary and gives the abbreviation that concept; an
expansion that no layer knows is skipped.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["read_abbreviations"]


def read_abbreviations(text: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Rows of an abbreviation table: those marked default "yes" plus ``include``, less ``exclude``
    (abbreviations compared case-insensitively). A malformed row is a clear ValueError."""
    wanted = {x.lower() for x in include}
    unwanted = {x.lower() for x in exclude}
    out: list[tuple[str, str]] = []
    header_seen = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split("\t")]
        if not header_seen:
            header_seen = True
            if cells[:3] != ["abbreviation", "expansion", "default"]:
                raise ValueError(f"abbreviation table line {number}: expected the header "
                                 "'abbreviation<TAB>expansion<TAB>default'")
            continue
        if len(cells) < 3 or not cells[0] or not cells[1] or cells[2] not in ("yes", "no"):
            raise ValueError(f"abbreviation table line {number}: expected abbreviation, expansion, yes/no")
        short = cells[0].lower()
        if short in unwanted:
            continue
        if cells[2] == "yes" or short in wanted:
            out.append((cells[0], cells[1]))
    return out

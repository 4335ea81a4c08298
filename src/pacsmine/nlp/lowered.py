"""A sentence's lower-cased text and its runs of ASCII letters and digits, computed once.

The term matcher, ConText and the normal statements each need both for the same sentence,
one call after the other (extract's per-sentence step); before, each lower-cased and
tokenised the sentence again. :func:`lowered` keeps the last sentence's result, so the
second and third asks cost an identity test.
"""

from __future__ import annotations

import re

__all__ = ["lowered", "alnum_runs"]

# Runs of ASCII letters and digits of lower-cased text.
alnum_runs = re.compile(r"[a-z0-9]+").findall
# Bytes: an ASCII lower-case letter or digit stays, any other byte becomes a space. ASCII text
# so translated holds only runs and spaces, and its split() gives alnum_runs' list, about
# three times faster than the regex (one C pass and a split, no match object per run).
_RUNS = bytes(c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))

# The last sentence and its (lower(), runs), one tuple replaced whole: a thread that reads it
# sees one sentence's results or another's, never a mix (a miss only computes again). The
# answer is kept as a tuple, so a hit (most calls: 4-5 callers a sentence) builds none.
_last: list[tuple] = [(None, ("", []))]


def lowered(sentence: str) -> tuple[str, list[str]]:
    """``(sentence.lower(), alnum_runs(sentence.lower()))``; the list is shared with later
    callers for the same sentence: read it, never change it."""
    last = _last[0]
    if last[0] is sentence:  # the same object: a string cannot have changed
        return last[1]
    low = sentence.lower()
    found = low, low.encode().translate(_RUNS).decode().split() if low.isascii() else alnum_runs(low)
    _last[0] = (sentence, found)
    return found

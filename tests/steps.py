"""Counting the work a text function does, for "no input takes more than linear time"
property tests: steps, not seconds (a loaded machine changes seconds, never steps).

``count_steps(fn, text)`` calls ``fn`` on ``text`` wrapped in :class:`Metered` and returns

* the bytecodes of pacsmine's Python code executed (``sys.settrace`` opcode events: a
  loop inside a loop shows up here, generator expressions included), plus
* the characters that the text's own scanning methods touched: a slice, ``count``,
  ``find``/``rfind``, ``lower``/``upper``/``strip``/``split`` on the text count
  the characters they cover, so a call that rescans a growing stretch once per line
  shows up although it is one line of Python.

Not counted: the work inside one regular expression call (backtracking). Runs of
``. ! ?`` and similar regex cases are checked by exact outputs on long inputs in the
module tests and timed in ``bench/big_report.py``.

``grows_linearly(fn, unit, n)`` compares the steps on ``unit`` repeated to about ``n``
and to about ``4 n`` characters: a linear function takes about 4 times the steps, a
quadratic one about 16 times; the bound allows 6 (n log n, constant costs).
"""

from __future__ import annotations

import sys
from typing import Any, Callable


class Metered(str):
    """A ``str`` whose scanning methods add the characters they cover to ``Metered.touched``."""

    touched = 0

    @staticmethod
    def _range(n: int, start: Any, end: Any) -> int:
        return len(range(n)[slice(start, end)])

    def __getitem__(self, key):
        out = str.__getitem__(self, key)
        Metered.touched += len(out) if isinstance(key, slice) else 1
        return out

    def count(self, sub, start=None, end=None):
        Metered.touched += self._range(len(self), start, end)
        return str.count(self, sub, start, end)

    # A search stops where it finds: it covers the stretch up to the hit (from the
    # right for rfind), or the whole range when nothing is found.
    def find(self, sub, start=None, end=None):
        r = range(len(self))[slice(start, end)]
        i = str.find(self, sub, start, end)
        Metered.touched += len(r) if i < 0 else i - (r.start if r else 0) + len(sub)
        return i

    def rfind(self, sub, start=None, end=None):
        r = range(len(self))[slice(start, end)]
        i = str.rfind(self, sub, start, end)
        Metered.touched += len(r) if i < 0 else (r.stop if r else 0) - i
        return i

    def lower(self):
        Metered.touched += len(self)
        return str.lower(self)

    def upper(self):
        Metered.touched += len(self)
        return str.upper(self)

    def strip(self, chars=None):
        Metered.touched += len(self)
        return str.strip(self, chars)

    def split(self, sep=None, maxsplit=-1):
        Metered.touched += len(self)
        return str.split(self, sep, maxsplit)


def count_steps(fn: Callable[[str], Any], text: str) -> int:
    """Bytecodes of pacsmine code run plus characters scanned while ``fn(Metered(text))`` runs."""
    lines = 0

    def local(frame, event, arg):
        nonlocal lines
        if event == "opcode":
            lines += 1
        return local

    def tracer(frame, event, arg):
        if "pacsmine" not in frame.f_code.co_filename:
            return None
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return local

    Metered.touched = 0
    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn(Metered(text))
    finally:
        sys.settrace(old)
    return lines + Metered.touched


def repeat_to(unit: str, n: int) -> str:
    """``unit`` repeated to at least ``n`` characters (whole copies)."""
    return unit * max(1, -(-n // max(1, len(unit))))


def grows_linearly(fn: Callable[[str], Any], unit: str, n: int = 600, bound: float = 6.0) -> tuple[bool, int, int]:
    """(steps at 4x the text <= ``bound`` x steps at 1x + 200, steps at 1x, steps at 4x)."""
    small = repeat_to(unit, n)
    large = unit * (4 * (len(small) // max(1, len(unit))))
    a, b = count_steps(fn, small), count_steps(fn, large)
    return b <= bound * a + 200, a, b

"""Key-image references: a grammar for every written form of "series S, image I".

A report cites its key images in many ways; each form below is one alternative of
one compiled regular expression (a grammar over keywords, numbers, lists and
ranges, not a token walker), so each image number is paired with *its own* series:

* series first:  ``(series 1001, image 32)``, ``(Se 2 Im 55)``, ``ser. 4, img. 87``,
  ``series #7 image #118``, ``series 3/image 45``, ``series 3 images 45-47``,
  ``S3 I45`` (single letters only as a pair)
* image first:   ``image 45 of series 3``, ``image 112, series 5``,
  ``image 19 in series 2``, and with no series at all ``images 150 through 155``
* colon shorthand ``(13:141)``, ``(5:93, 197)``, ``(6:438 and 7:55)``,
  ``7:254 through 7:260``: only inside parentheses or right after a series/image
  keyword, and never a time (``10:45 am``, ``at 10:45``, ``10:05``, ``12:30:45``)
  or a ratio (``ratio of 1:2``, or both numbers under 10 with one of them 1).

Lists are joined by commas, ``and``, ``or``, ``&``; ranges by ``-``, en/em dashes,
``to``, ``through``, ``thru``. An abbreviated range end replaces the last digits of
its start (the paper's rule): ``1013-78`` is 1013..1078, ``1013-178`` is
1013..1178, ``30-5`` is 30..35. An end that still falls below its start is not a
range (both numbers are kept as written); a range longer than ``max_range`` keeps
its two ends.

Numbers followed by a unit (``2.5 mm axial images``: the number precedes the
keyword; ``image 45 mm``, ``images in 6 months``) are not image numbers, and a
keyword must be followed by a number, so ``T2-weighted images``, ``series of
nodules``, ``image quality`` and ``follow-up imaging`` never match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Reference", "ReferenceParser", "expand_range"]


@dataclass(frozen=True)
class Reference:
    """One cited image: ``series`` (None where the text gives none), ``image`` (the
    instance number), ``start``/``end`` character offsets of the whole reference
    expression in the parsed text and ``text`` (that expression as written)."""

    series: int | None
    image: int
    start: int
    end: int
    text: str


def expand_range(start: str, end: str, max_range: int = 500) -> list[int]:
    """Image numbers of the written range ``start``-``end`` (digit strings).

    An end shorter than the start replaces the start's last digits ("1013", "78"
    -> 1013..1078). An end below the start, even so, is no range: both numbers
    are returned as written. A range longer than ``max_range`` keeps its ends.
    """
    a = int(start)
    if len(end) < len(start):
        b = int(start[: len(start) - len(end)] + end)
    else:
        b = int(end)
    if b < a:
        return [a, int(end)]
    if b - a > max_range:
        return [a, b]
    return list(range(a, b + 1))


def _alternatives(words: list[str]) -> str:
    # Longest first, so that "images" is not read as "image" + "s".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_DIGIT = re.compile(r"\d").search
_LETTERS = re.compile(r"[a-z]+").findall
_UNITS = r"(?:mm|cm|m|ml|cc|mg|hu|kg|months?|mos?|weeks?|wks?|days?|years?|yrs?|hours?|hrs?|minutes?|min|sec|seconds?|x|%)\b"


class ReferenceParser:
    """Finds key-image references in a sentence or a whole report.

    Parameters mirror ``config["extract"]["references"]`` (see
    ``src/pacsmine/config/extract.toml``). ``parse(text)`` returns a list of
    :class:`Reference` in text order, ranges expanded in order.
    """

    def __init__(
        self,
        series_words: list[str] = ("series", "ser", "se"),
        image_words: list[str] = ("images", "image", "img", "im"),
        series_letters: list[str] = ("s",),
        image_letters: list[str] = ("i",),
        range_words: list[str] = ("to", "through", "thru"),
        colon_shorthand: bool = True,
        time_words: list[str] = ("am", "pm", "hours"),
        ratio_words: list[str] = ("ratio", "dilution", "at"),
        max_range: int = 500,
        image_only: bool = True,
    ):
        self.series_words = list(series_words)
        self.image_words = list(image_words)
        self.series_letters = list(series_letters)
        self.image_letters = list(image_letters)
        self.range_words = list(range_words)
        self.colon_shorthand = colon_shorthand
        self.time_words = list(time_words)
        self.ratio_words = list(ratio_words)
        self.max_range = max_range
        self.image_only = image_only
        self._compile()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ReferenceParser":
        """Build from ``config["extract"]["references"]``."""
        return cls(**config)

    # ------------------------------------------------------------------ grammar

    def _compile(self) -> None:
        serw = _alternatives(self.series_words)
        imgw = _alternatives(self.image_words)
        serl = _alternatives(self.series_letters + self.series_words)
        imgl = _alternatives(self.image_letters + self.image_words)
        rng = r"\s*(?:-|\u2013|\u2014|(?:%s)\b)\s*" % _alternatives(self.range_words)
        sep = r"\s*(?:,\s*(?:and\b|or\b|&)?|;\s*(?=\d)|\band\b|\bor\b|&|\+)\s*"
        prefix = r"(?:\#\s*|nos?\.?\s*|numbers?\s+)?"
        # A number: never followed by another digit, a decimal, a unit or a colon
        # pair (a colon pair belongs to the shorthand alternative).
        num = prefix + r"\d{1,6}(?![\d])(?!\.\d)(?!\s?:\s?\d)"
        item = num + r"(?:" + rng + prefix + r"\d{1,6}(?![\d])(?!\.\d))?(?!\s*" + _UNITS + r")"
        lst = item + r"(?:" + sep + item + r")*"
        kw_end = r"(?![a-z])\.?\s*(?::\s*)?"  # "se:3, im:45"
        series_first = (
            r"(?P<f1>\b(?:" + serl + r")" + kw_end + r"(?P<s1>" + num + r")"
            r"\s*(?:[,;/:]|-(?!\d))?\s*(?:(?:at|on|and)\s+)?"
            r"\b(?:" + imgl + r")" + kw_end + r"(?P<l1>" + lst + r"))"
        )
        image_first = (
            r"(?P<f2>\b(?:" + imgw + r")" + kw_end + r"(?P<l2>" + lst + r")"
            r"(?:\s*[,;/(]?\s*(?:(?:of|in|on|from)\s+)?(?:the\s+)?\b(?:" + serw + r")" + kw_end
            + r"(?P<s2>" + num + r"))?)"
        )
        cnum = r"\d{1,6}(?![\d])"
        citem = r"(?:\d{1,4}\s?:\s?)?" + cnum + r"(?:" + rng + r"(?:\d{1,4}\s?:\s?)?" + cnum + r")?"
        colon = (
            r"(?P<f3>(?<![\d:./])(?P<s3>\d{1,4})\s?(?P<c3>[:;])\s?(?P<l3>" + cnum
            + r"(?:" + rng + r"(?:\d{1,4}\s?:\s?)?" + cnum + r")?"
            + r"(?:" + sep + citem + r")*)(?![\d:])(?!\.\d))"
        )
        alts = [series_first, image_first]
        if self.colon_shorthand:
            alts.append(colon)
        self._grammar = re.compile("|".join(alts), re.IGNORECASE)
        # A case-sensitive twin for lower-cased ASCII text (same matches, same offsets,
        # faster), when lower-casing the pattern changes only its literal letters.
        pattern = self._grammar.pattern
        self._grammar_lc = None
        if not any(c.isupper() for c in pattern.replace("(?P<", "")):
            self._grammar_lc = re.compile(pattern.lower().replace("(?p<", "(?P<"))
        # Every alternative needs a series/image keyword (a whole run of letters: it follows
        # \b and no letter may follow it) or a colon/semicolon, so a sentence with neither
        # has no reference; None where a keyword is not plain letters.
        keywords = [w.lower() for w in self.series_words + self.series_letters + self.image_words + self.image_letters]
        self._keywords = frozenset(keywords) if all(re.fullmatch(r"[a-z]+", w) for w in keywords) else None
        # Items inside a matched list: optional "S:" prefix, a number, an optional range end.
        self._item = re.compile(
            r"(?:(\d{1,4})\s?:\s?)?(\d{1,6})(?![\d])(?:" + rng + prefix + r"(?:(\d{1,4})\s?:\s?)?(\d{1,6}))?",
            re.IGNORECASE,
        )
        self._time_after = re.compile(
            r"\s*(?:%s)(?![a-z])" % _alternatives(self.time_words), re.IGNORECASE
        )
        self._ratio_before = re.compile(
            r"(?:^|\W)(?:%s)(?:\s+of)?\W{0,3}$" % _alternatives(self.ratio_words), re.IGNORECASE
        )
        self._ratio_after = re.compile(r"\s*(?:ratio|dilution|mixture)\b", re.IGNORECASE)
        self._on_before = re.compile(r"\b(?:on|see|seen on|e\.g\.,?)\s*$", re.IGNORECASE)
        self._keyword_before = re.compile(
            r"\b(?:%s|%s)\.?\s*[:#]?\s*$" % (serw, imgw), re.IGNORECASE
        )

    # ------------------------------------------------------------------ parsing

    def parse(self, text: str) -> list[Reference]:
        """All references in ``text``, in order; ranges expanded in order."""
        out: list[Reference] = []
        if not text or _DIGIT(text) is None:  # cheap prefilter: no number, no reference
            return out
        if text.isascii() and self._grammar_lc is not None:  # lower() keeps every offset
            low = text.lower()
            if self._keywords is not None and ":" not in text and ";" not in text and self._keywords.isdisjoint(_LETTERS(low)):
                return out
            matches = self._grammar_lc.finditer(low)
        else:
            matches = self._grammar.finditer(text)
        for m in matches:
            if m.group("f1") is not None:
                series = _int(m.group("s1"))
                self._emit(out, text, m, series, m.group("l1"), m.start("l1"))
            elif m.group("f2") is not None:
                s2 = m.group("s2")
                if s2 is None and not self.image_only:
                    continue
                self._emit(out, text, m, _int(s2) if s2 else None, m.group("l2"), m.start("l2"))
            else:
                if not self._colon_ok(text, m):
                    continue
                self._emit(out, text, m, int(m.group("s3")), m.group("l3"), m.start("l3"))
        return out

    def _colon_ok(self, text: str, m: re.Match[str]) -> bool:
        """Is this ``a:b`` a series:image pair rather than a time or a ratio?

        Rejected: a time word after it (``10:45 am``), a ratio/time word before it
        (``ratio of 1:2``, ``at 10:45``), an image part with a leading zero
        (``10:05``: minutes have one, image numbers never), series 1 with an image
        under 10 (``1:2``: a ratio, or the scout). Accepted: inside parentheses
        (also written ``(3; 240)``), right after a series/image keyword
        (``series image: 7:254``), or bare where it cannot be a clock time (image
        part of 60 or more, three digits or more, or series above 24), and bare
        time-shaped pairs only after "on"/"see" (``nodule on 3:23``) or set off by
        commas (``right upper lobe, 3:23, and``).
        """
        start, end = m.span()
        image = m.group("l3")
        series = int(m.group("s3"))
        digits = re.match(r"\d+", image).group()  # type: ignore[union-attr]
        first = int(digits)
        if digits[0] == "0" and len(digits) >= 2:
            return False
        if self._time_after.match(text, end) or self._ratio_after.match(text, end):
            return False
        if self._ratio_before.search(text[max(0, start - 16) : start]):
            return False
        if series == 1 and first < 10:
            return False
        in_parens = text.rfind("(", 0, start) > text.rfind(")", 0, start)
        if in_parens:
            return True
        if m.group("c3") == ";":
            return False
        before = text[max(0, start - 24) : start]
        if self._keyword_before.search(before):
            return True
        clock_like = len(digits) <= 2 and first < 60 and series <= 24
        if not clock_like:
            return True
        if before.rstrip().endswith(",") and re.match(r"\s*[,.;)]", text[end : end + 2]):
            return True  # set off by commas like an aside: "right upper lobe, 3:23, and"
        return bool(self._on_before.search(before))

    def _emit(self, out: list[Reference], text: str, m: re.Match[str], series: int | None, lst: str, offset: int) -> None:
        start, end = m.span()
        span = text[start:end]  # as written (the match may be on the lower-cased text)
        current = series
        for it in self._item.finditer(lst):
            s_pref, a, s_end, b = it.groups()
            if s_pref is not None:
                current = int(s_pref)
            if b is None:
                images = [int(a)]
            elif s_end is not None and int(s_end) != current:
                # "7:254-8:12": two citations, not a range across series.
                out.append(Reference(current, int(a), start, end, span))
                current = int(s_end)
                images = [int(b)]
            else:
                images = expand_range(a, b, self.max_range)
            for image in images:
                out.append(Reference(current, image, start, end, span))


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    return int(re.search(r"\d+", value).group())  # type: ignore[union-attr]

"""Key-image references: a grammar for every written form of "series S, image I".

A report cites its key images in many ways; each form below is one alternative of
one compiled regular expression (a grammar over keywords, numbers, lists and
ranges, not a token walker), so each image number is paired with *its own* series:

* series first:  ``(series 1001, image 32)``, ``(Se 2 Im 55)``, ``ser. 4, img. 87``,
  ``series #7 image #118``, ``series 3/image 45``, ``series 3 (image 45)``,
  ``series 3 images 45-47``, ``(series 3, #45)``; single letters only as a pair of
  letters: ``S3 I45``, ``(s 2, i 55)``
* image first:   ``image 45 of series 3``, ``image 112, series 5``, ``image 45
  (series 3)``, ``image 19 in series 2``, ``image 67 on the coronal series 601``,
  ``(#45, series 3)``, and with no series at all ``images 150 through 155``
* a stack size after the image is read and dropped: ``image 12/150``, ``image 12
  of 150`` (image 12 of a 150-image stack)
* a series/image keyword pair announces slash or colon pairs:
  ``series/image 3/45``, ``se/im: 3/45, 4/60``; a bare ``(3/45)`` is no reference
* colon shorthand ``(13:141)``, ``(5:93, 197)``, ``(6:438 and 7:55)``,
  ``7:254 through 7:260``: only inside parentheses or right after a series/image
  keyword, and never a time (``10:45 am``, ``at 10:45``, ``10:05``, ``12:30:45``,
  ``10:30 position``, or a clock-shaped pair in a sentence about a phone call, a
  date or a nipple distance), a ratio (``ratio of 1:2``, ``(2:1 dilution)``,
  ``(1:2)``, a small pair beside "ratio"/"Gleason", a sex ratio ``(3:1 female to
  male)``, ``(13:9 F>M)``), a journal citation (``Clin Im 2004:28;216-218``,
  ``1992 (12:2)``, ``AJR (37:4)``, Vancouver style ``Radiology 2017;284:228-243``,
  ``2015 Jan 5;148:1-10``, ``(Radiology 2017 284:228-243)``), a label (``DOL 56: 1.``, ``Patient 1: 72 year
  old``: a bare pair is written tight) or a size (``image 88: 6 mm`` is image 88).
* ``IMA`` (Siemens syngo, some European PACS) is an image keyword: ``(IMA 8-34)``
  is images 8 to 34 of a series the text does not give, ``SE 8 IMA 34`` is (8, 34).

Lists are joined by commas, ``and``, ``or``, ``&``; ranges by ``-``, en/em dashes,
``to``, ``through``, ``thru``. An abbreviated range end replaces the last digits of
its start (the paper's rule): ``1013-78`` is 1013..1078, ``1013-178`` is
1013..1178, ``30-5`` is 30..35. An end that still falls below its start
(``47-45``) is not a range (both numbers are kept as written); a range longer than
``max_range`` keeps its two ends (counted in ``ReferenceParser.capped_ranges``).

Numbers followed by a unit (``2.5 mm axial images``: the number precedes the
keyword; ``image 45 mm``, ``images in 6 months``, ``images 3 and 4 months ago``)
are not image numbers, and a keyword must be followed by a number, so
``T2-weighted images``, ``series of nodules``, ``image quality`` and ``follow-up
imaging`` never match. A reference that belongs to another exam (``image 1 of the
prior exam``, ``prior image 45``, ``Comparison: CT 01/02/2020 series 3 image 45``)
is dropped: it cannot be one of this study's images; so is one whose clause names another
exam as the place of the finding (``On the prior CT of 01/02/2019 the lesion measured 5 mm
(series 3, image 45)``, ``Previously 5 mm on the comparison study (series 3 image 45)``),
but not a comparison with it (``Stable compared to prior (series 3, image 45)``) nor a
clause that turns back to this exam (``seen on the prior CT, now 8 mm (series 3, image
45)``): see :meth:`ReferenceParser._in_prior_clause`. A keyword after a count word
(``#images 2003``, ``number of images: 240``) counts images and cites none, and a
parenthesised series with an image of its own belongs to that image: ``CT image 7
(series 2, image 6)`` is image 7 (no series) and (2, 6).
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


def _range_end(start: str, end: str) -> int:
    # The paper's rule: a shorter end replaces the start's last digits.
    if len(end) < len(start):
        return int(start[: len(start) - len(end)] + end)
    return int(end)


def expand_range(start: str, end: str, max_range: int = 500) -> list[int]:
    """Image numbers of the written range ``start``-``end`` (digit strings).

    An end shorter than the start replaces the start's last digits ("1013", "78"
    -> 1013..1078). An end below the start, even so, is no range: both numbers
    are returned as written. A range longer than ``max_range`` keeps its ends.
    """
    a = int(start)
    b = _range_end(start, end)
    if b < a:
        return [a, int(end)]
    if b - a > max_range:
        return [a, b]
    return list(range(a, b + 1))


def _first_runs(words: list[str]) -> frozenset[str] | None:
    """The first letter run of each word, lower-cased ("et al" -> "et", "a.m." -> "a"), or
    None where a word does not start with ASCII letters followed by a non-letter or its end.

    In lower-cased ASCII text a word of ``(?<![a-z])(?:words)(?![a-z])`` (ignoring case)
    matches only where its first run stands as a whole letter run (ASCII letters fold only
    to their own capitals, and the run's next character is no letter): text whose letter
    runs hold none of these has none of the words."""
    runs = set()
    for w in words:
        m = re.match(r"[a-zA-Z]+", w)
        if m is None or w[m.end() : m.end() + 1].isalpha():
            return None
        runs.add(m.group().lower())
    return frozenset(runs) if runs else None


def _alternatives(words: list[str]) -> str:
    # Longest first, so that "images" is not read as "image" + "s".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_DIGIT = re.compile(r"\d").search
_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"\d+").findall
_LETTERS = re.compile(r"[a-z]+").findall
_TIME_UNITS = r"(?:months?|mos?|weeks?|wks?|days?|years?|yrs?|hours?|hrs?|minutes?|mins?)\b"
_UNITS = (
    r"(?:mm|cm|m|ml|cc|mg|mcg|ug|g|kg|hu|mmhg|mci|msv|mgy|bpm|fr|ms|kv|kvp|mas|units?|iu"
    r"|months?|mos?|weeks?|wks?|days?|years?|yrs?|hours?|hrs?|minutes?|min|sec|seconds?|x|%)\b"
)
# Characters that no keyword of ``_keyword_before`` (letters, then "." ":" "#") can end with.
_NO_KEYWORD_END = frozenset("0123456789()[],;")
_PAGE_RANGE = re.compile(r"\d\s*[-\u2013\u2014]\s*\d").search
_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")


class ReferenceParser:
    """Finds key-image references in a sentence or a whole report.

    Parameters mirror ``config["extract"]["references"]`` (see
    ``src/pacsmine/config/extract.toml``); ``other_exam_sections`` is only stored (upper
    case, as ``other_exam_sections``) for extract, which drops the references of
    sentences in those sections. ``parse(text)`` returns a list of
    :class:`Reference` in text order, ranges expanded in order. ``capped_ranges``
    counts the ranges longer than ``max_range`` seen so far (kept as their ends).
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
        clock_context: list[str] = ("called", "discussed", "nipple", "o'clock"),
        ratio_context: list[str] = ("ratio", "dilution", "gleason"),
        citation_words: list[str] = (),
        count_words: list[str] = (),
        prior_words: list[str] = ("prior", "previous", "comparison"),
        exam_words: list[str] = (),
        place_words: list[str] = (),
        comparison_words: list[str] = (),
        current_words: list[str] = (),
        other_exam_sections: list[str] = (),
        plane_words: list[str] = ("axial", "coronal", "sagittal"),
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
        self.clock_context = list(clock_context)
        self.ratio_context = list(ratio_context)
        self.citation_words = list(citation_words)
        self.count_words = list(count_words)
        self.prior_words = list(prior_words)
        self.exam_words = list(exam_words)
        self.place_words = list(place_words)
        self.comparison_words = list(comparison_words)
        self.current_words = list(current_words)
        self.other_exam_sections = frozenset(w.upper() for w in other_exam_sections)
        self.plane_words = list(plane_words)
        self.max_range = max_range
        self.image_only = image_only
        self.capped_ranges = 0
        self._compile()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ReferenceParser":
        """Build from ``config["extract"]["references"]``."""
        return cls(**config)

    # ------------------------------------------------------------------ grammar

    def _compile(self) -> None:
        serw = _alternatives(self.series_words)
        imgw = _alternatives(self.image_words)
        serl = _alternatives(self.series_letters)
        imgl = _alternatives(self.image_letters)
        rng_words = _alternatives(self.range_words)
        rng = r"\s*(?:-|\u2013|\u2014|(?:%s)\b)\s*" % rng_words
        sep = r"\s*(?:,\s*(?:and\b|or\b|&)?|;\s*(?=\d)|\band\b|\bor\b|&|\+)\s*"
        prefix = r"(?:\#\s*|nos?\.?\s*|numbers?\s+)?"
        # A number: never followed by another digit, a decimal, a colon pair (a colon
        # pair belongs to the shorthand alternative) or the middle of a date ("11/16/").
        colon_pair = r"\s?:\s?\d{1,6}(?!\d)(?!\.\d)(?!\s*" + _UNITS + r")"
        num = prefix + r"\d{1,6}(?![\d])(?!\.\d)(?!" + colon_pair + r")(?!/\d{1,2}/)"
        item = num + r"(?:" + rng + prefix + r"\d{1,6}(?![\d])(?!\.\d))?(?!\s*" + _UNITS + r")"
        lst = item + r"(?:" + sep + item + r")*"
        # "image 12/150", "image 12 of 150": the stack size, read and dropped.
        total = r"(?:\s*(?:/|\bof\b)\s*\d{1,6}(?![\d/:.]))?"
        kw_end = r"(?![a-z])\.?\s*(?::\s*)?"  # "se:3, im:45"
        # Plane/reconstruction words between "of the" and a series keyword.
        plane = r"(?:(?:%s)\s+){0,2}" % _alternatives(self.plane_words) if self.plane_words else ""
        series_tail = (
            r"\s*(?:[,;/(]|-(?!\d))?\s*(?:(?:of|in|on|from)\s+)?(?:the\s+)?" + plane + r"\b(?:" + serw + r")" + kw_end
        )
        # The same without "(": "image 45 (series 3)" is read by the parenthesised tail below.
        series_tail_plain = (
            r"\s*(?:[,;/]|-(?!\d))?\s*(?:(?:of|in|on|from)\s+)?(?:the\s+)?" + plane + r"\b(?:" + serw + r")" + kw_end
        )
        series_tail_paren = r"\s*\(\s*(?:the\s+)?" + plane + r"\b(?:" + serw + r")" + kw_end
        ser_img_sep = r"\s*(?:[,;/:(]|-(?!\d))?\s*(?:(?:at|on|and)\s+)?"
        # Words pair with words ("series 3, image 45"), letters with letters ("S3 I45"):
        # "S1, image 45" is a sacral level beside an image, not series 1.
        series_first = (
            r"(?P<f1>\b(?:" + serw + r")" + kw_end + r"(?P<s1>" + num + r")" + ser_img_sep
            + r"(?:\b(?:" + imgw + r")" + kw_end + r"|(?=\#))(?P<l1>" + lst + r")" + total + r")"
        )
        letters_pair = (
            r"(?P<f7>\b(?:" + serl + r")" + kw_end + r"(?P<s7>\d{1,6}(?![\d.]))" + r"\s*[,;/]?\s*"
            + r"\b(?:" + imgl + r")" + kw_end + r"(?P<l7>" + lst + r")" + total + r")"
        )
        # A parenthesised series that has an image of its own belongs to that image:
        # "CT image 7 (series 2, image 6)" cites image 7 (no series given) and (2, 6).
        image_first = (
            r"(?P<f2>\b(?:" + imgw + r")" + kw_end + r"(?P<l2>" + lst + r")" + total
            + r"(?:" + series_tail_plain + r"(?P<s2>" + num + r")|" + series_tail_paren + r"(?P<s6>" + num + r")(?!"
            + ser_img_sep + r"\b(?:" + imgw + r")(?![a-z])))?)"
        )
        # "(#45, series 3)": a bare "#" list needs a series after it, an opening
        # parenthesis before it, and no image keyword after that series ("Nodule #2
        # (series 3, image 45)" numbers a lesion).
        hash_first = (
            r"(?P<f5>(?:(?<=[(\[])|(?<=[(\[]\s))\#\s*(?P<l5>" + lst + r")" + total + series_tail
            + r"(?P<s5>" + num + r")(?!" + ser_img_sep + r"\b(?:" + imgw + r")(?![a-z])))"
        )
        # "series/image 3/45", "se/im: 3/45, 4/60", "series image 7:254": a keyword pair
        # announces S/I or S:I pairs.
        pnum = r"\d{1,6}(?![\d])"
        pitem = r"(?:\d{1,4}\s?[/:]\s?)?" + pnum + r"(?:" + rng + r"(?:\d{1,4}\s?[/:]\s?)?" + pnum + r")?"
        pair_kw = (
            r"(?P<f4>\b(?:(?:" + serw + r")\.?\s*(?:/|\\|&|-|\band\b|\+)?\s*(?:" + imgw + r")|(?:" + serl
            + r")\s*/\s*(?:" + imgl + r"))" + kw_end + r"(?P<s4>\d{1,4})\s?[/:]\s?(?P<l4>" + pnum
            + r"(?:" + rng + r"(?:\d{1,4}\s?[/:]\s?)?" + pnum + r")?(?:" + sep + pitem + r")*)(?![\d/:])(?!\.\d))"
        )
        cnum = r"\d{1,6}(?![\d])"
        citem = r"(?:\d{1,4}\s?:\s?)?" + cnum + r"(?:" + rng + r"(?:\d{1,4}\s?:\s?)?" + cnum + r")?"
        # Not after a letter ("C5:6" is a spine level), except a series letter on its
        # own: "(S7: 311)".
        after_letter = "".join(r"|(?<=\b%s)" % re.escape(x) for x in self.series_letters if len(x) == 1)
        colon = (
            r"(?P<f3>(?:(?<![a-z\d:./])" + after_letter + r")(?P<s3>\d{1,4})\s?(?P<c3>[:;])\s?(?P<l3>" + cnum
            + r"(?:" + rng + r"(?:\d{1,4}\s?:\s?)?" + cnum + r")?"
            + r"(?:" + sep + citem + r")*)(?![\d:])(?!\.\d)(?!\s*" + _UNITS + r"))"
        )
        alts = [pair_kw, series_first, letters_pair, image_first, hash_first]
        if self.colon_shorthand:
            alts.append(colon)
        # Every alternative starts with a keyword's first letter, "#" or a digit: a
        # lookahead on that class fails at most positions before any alternative is tried
        # (sre does not find that prefix through the lookbehinds and \b; twice as fast).
        keywords = [w.lower() for w in self.series_words + self.series_letters + self.image_words + self.image_letters]
        firsts = "".join(sorted({re.escape(w[0]) for w in keywords if w}))
        self._grammar = re.compile(r"(?=[%s\#0-9])(?:%s)" % (firsts, "|".join(alts)), re.IGNORECASE)
        # A case-sensitive twin for lower-cased ASCII text (same matches, same offsets,
        # faster), when lower-casing the pattern changes only its literal letters.
        pattern = self._grammar.pattern
        self._grammar_lc = None
        if not any(c.isupper() for c in pattern.replace("(?P<", "")):
            self._grammar_lc = re.compile(pattern.lower().replace("(?p<", "(?P<"))
        # Every alternative needs a series/image keyword (a whole run of letters: it follows
        # \b and no letter may follow it) or a colon/semicolon, so a sentence with neither
        # has no reference; None where a keyword is not plain letters.
        self._keywords = frozenset(keywords) if all(re.fullmatch(r"[a-z]+", w) for w in keywords) else None
        # Items inside a matched list: optional "S:" / "S/" prefix, a number, an optional range end.
        self._item = re.compile(
            r"(?:(\d{1,4})\s?[:/]\s?)?(\d{1,6})(?![\d])(?:" + rng + prefix + r"(?:(\d{1,4})\s?[:/]\s?)?(\d{1,6}))?",
            re.IGNORECASE,
        )
        # "images 3 and 4 months ago", "T1 images 2 and 3 weeks ago", "images 3-4 mm":
        # the list goes on into a quantity, so none of it is an image number.
        # Only when the list's numbers are all below the quantity's, as durations and
        # sizes count up: "series 4 image 112 and 3 months ago" still cites image 112.
        self._quantity_tail = re.compile(
            r"\s*(?:,\s*)?(?:and|or|&)\s*(\d+)(?:\.\d+)?\s*" + _TIME_UNITS
            + r"|" + rng + r"(\d+)(?:\.\d+)?\s*" + _UNITS,
            re.IGNORECASE,
        )
        prior = _alternatives(self.prior_words) if self.prior_words else "(?!)"
        # "image 1 of the prior exam", "image 45 on prior", "(image 45 (prior))".
        self._prior_after = re.compile(
            r"\s*,?\s*(?:(?:of|on|from|in)\s+(?:the\s+)?(?:%s)\b(?!\s+to\b)|\(\s*(?:%s)\s*\))" % (prior, prior),
            re.IGNORECASE,
        )
        # "prior image 45", "(prior series 3, image 45)", "on the comparison study, image 45",
        # "Comparison: CT 01/02/2020 series 3 image 45" (the other exam's modality and date).
        exam = r"(?:%s)" % _alternatives(self.exam_words) if self.exam_words else "(?!)"
        self._prior_before = re.compile(
            r"\b(?:%s)(?:\s*:\s*|\s+)(?:%s\s*)*(?:(?:dated|from|of|on)\s+)?(?:\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\s*)?"
            r"(?:%s\s*)*[,:]?\s*$" % (prior, exam, exam),
            re.IGNORECASE,
        )
        # "Lesion measured 5 mm (series 3, image 45) on the prior CT": the place after the aside.
        # A prior word is a place when exam words, a date or the phrase's end follow it:
        # "on a previous myositis", "prior to", "in the prior 6 months" are none.
        place_end = r"(?:(?:\s+(?:%s))+(?![a-z])|(?=\s*(?:[.;:()]|$|(?:of|from|dated)\s+\d)))" % exam
        self._prior_place_after = re.compile(
            r"\)\s*,?\s*(?:%s)\s+(?:the\s+)?(?:%s)%s" % (_alternatives(self.place_words) or "(?!)", prior, place_end),
            re.IGNORECASE,
        )
        # The clause that places a reference on another exam: "On the prior CT of 01/02/2019
        # the lesion measured 5 mm (series 3, image 45)", "Previously 5 mm on the comparison
        # study (series 3 image 45)": a place word, [the], a prior word, then a place_end.
        self._prior_place = None
        if self.place_words and self.prior_words:
            self._prior_place = re.compile(
                r"(?<![a-z])(?:%s)\s+(?:the\s+|an?\s+)?(?:%s)%s" % (_alternatives(self.place_words), prior, place_end),
                re.IGNORECASE,
            )
        self._comparison = self._words_re(self.comparison_words)
        self._current = self._words_re(self.current_words)
        self._series_between = re.compile(r"[\s,;]*(?:(?:and|or|&|also)\s+)?(?:(?:on|at|see|in)\s+)?$", re.IGNORECASE)
        self._time_after = re.compile(
            r"\s*(?:%s)(?![a-z])" % _alternatives(self.time_words), re.IGNORECASE
        )
        self._ratio_before = re.compile(
            r"(?:^|[^a-z0-9])(?:%s)(?:\s+of)?[^a-z0-9]{0,3}$" % _alternatives(self.ratio_words), re.IGNORECASE
        )
        self._ratio_after = None
        self._ratio_context = None
        if self.ratio_context:
            # "(2:1 dilution)", "(3:1 female to male)", "(13:9 F>M)"
            self._ratio_after = re.compile(
                r"\s*(?:%s)(?![a-z])" % _alternatives(self.ratio_context), re.IGNORECASE
            )
            self._ratio_context = re.compile(
                r"(?<![a-z])(?:%s)(?![a-z])" % _alternatives(self.ratio_context), re.IGNORECASE
            )
        # A journal citation: "Clin Im 2004:28;216-218" (year:volume;pages), "1992 (12:2)".
        self._citation_context = None
        if self.citation_words:
            self._citation_context = re.compile(
                r"(?<![a-z])(?:%s)(?![a-z])" % _alternatives(self.citation_words), re.IGNORECASE
            )
        self._year_before = re.compile(r"\b(?:19|20)\d\d[^a-z0-9]{0,3}$", re.IGNORECASE)
        # Vancouver style: year[ month[ day]];volume:pages, the pair right after the semicolon
        # ("2017;284:228-243", "2015 Jan 5;148:1-10"); "since 2019; (4:56)" has a parenthesis.
        year = r"\b(?:19|20)\d\d(?:\s+[a-z]{3,9}\.?(?:\s+\d{1,2})?)?"
        self._vancouver_before = re.compile(year + r"\s*;\s*$", re.IGNORECASE)
        # ... and with a comma or a space, where the pair's image part is a page range.
        self._year_pages_before = re.compile(year + r"(?:\s*,\s*|\s+)$", re.IGNORECASE)
        self._pages_after = re.compile(r"\)?\s*[:;]\s*\d+\s*[-\u2013]\s*\d+|\s*\(\d+\)", re.IGNORECASE)
        self._count_before = None
        if self.count_words:
            words = "|".join(
                (r"(?<![a-z])" if w[0].isalpha() else "") + r"\s+".join(map(re.escape, w.split()))
                for w in sorted(set(self.count_words), key=len, reverse=True)
            )
            self._count_before = re.compile(r"(?:%s)\s*:?\s*$" % words, re.IGNORECASE)
        # Plain substrings tried before those regexes (most references have none near them).
        self._prior_lc = tuple(w.lower() for w in self.prior_words)
        self._count_lc = tuple(" ".join(w.lower().split()) for w in self.count_words)
        self._citation_lc = tuple(w.lower() for w in self.citation_words)
        self._clock_context = None
        if self.clock_context:
            self._clock_context = re.compile(
                r"(?<![a-z])(?:%s)(?![a-z])" % _alternatives(self.clock_context), re.IGNORECASE
            )
        # The context words' first letter runs, tried on a window's runs before the patterns.
        self._citation_runs = _first_runs(self.citation_words)
        self._clock_runs = _first_runs(self.clock_context)
        self._ratio_runs = _first_runs(self.ratio_context)
        self._on_before = re.compile(r"\b(?:on|see|seen on|e\.g\.,?)\s*$", re.IGNORECASE)
        self._keyword_before = re.compile(
            r"\b(?:%s|%s)\.?\s*[:#]?\s*$" % (serw, imgw), re.IGNORECASE
        )

    @staticmethod
    def _words_re(words: list[str]) -> re.Pattern[str] | None:
        if not words:
            return None
        return re.compile(r"(?<![a-z])(?:%s)(?![a-z])" % _alternatives(words), re.IGNORECASE)

    # ------------------------------------------------------------------ parsing

    def parse(self, text: str) -> list[Reference]:
        """All references in ``text``, in order; ranges expanded in order."""
        out: list[Reference] = []
        if not text or _DIGIT(text) is None:  # cheap prefilter: no number, no reference
            return out
        low = None
        if text.isascii() and self._grammar_lc is not None:  # lower() keeps every offset
            low = text.lower()
            if self._keywords is not None and ":" not in text and ";" not in text and self._keywords.isdisjoint(_LETTERS(low)):
                return out
            matches = self._grammar_lc.finditer(low)
        else:
            matches = self._grammar.finditer(text)
        # The series of the reference just before, where only separators lie between it
        # and this one: "series 3, image 45 and image 60" cites (3, 45) and (3, 60).
        last_series: int | None = None
        prior_here: bool | None = None
        last_end = -1
        for m in matches:
            g = m.group
            form = m.lastgroup  # the outermost group of the alternative that matched closes last
            if form == "f3":
                if not self._colon_ok(text, m, low):
                    continue
                series: int | None = int(g("s3"))
                lst = "l3"
            else:
                if form == "f1":
                    series, lst = _int(g("s1")), "l1"
                elif form == "f2":
                    series, lst = _int(g("s2") or g("s6")), "l2"
                elif form == "f4":
                    series, lst = int(g("s4")), "l4"
                elif form == "f5":
                    series, lst = _int(g("s5")), "l5"
                else:
                    series, lst = int(g("s7")), "l7"
                if self._count_before is not None and self._is_count(text, m.start()):
                    continue  # "#images 2003", "number of images 240": a count
                q = self._quantity_tail.match(text, m.end(lst))
                if q is not None and max(map(int, _NUMBER(g(lst)))) < int(q.group(1) or q.group(2)):
                    continue
                if prior_here is None:  # once per text: most hold no prior word at all
                    lowered = low if low is not None else text.lower()
                    prior_here = any(w in lowered for w in self._prior_lc)
                if prior_here and (
                    self._prior_after.match(text, m.end())
                    or self._prior_place_after.match(text, m.end())
                    or self._is_prior_before(text, m.start())
                    or self._in_prior_clause(text, m.start())
                ):
                    continue
                if series is None:
                    if last_series is not None and self._series_between.fullmatch(text, last_end, m.start()):
                        series = last_series
                    elif not self.image_only:
                        continue
            self._emit(out, text, m, series, g(lst))
            last_series, last_end = out[-1].series, m.end()
        return out

    def _is_count(self, text: str, start: int) -> bool:
        """Does a ``count_words`` entry end just before ``start`` ("#images 2003")?"""
        window = " ".join(text[max(0, start - 16) : start].lower().split()).rstrip(": ")
        return window.endswith(self._count_lc) and self._count_before.search(text, max(0, start - 16), start) is not None

    def _is_prior_before(self, text: str, start: int) -> bool:
        """Is the reference at ``start`` introduced as another exam's ("prior image 45",
        "Comparison: CT 01/02/2020 series 3 image 45")?"""
        a = max(0, start - 48)
        window = text[a:start].lower()
        return any(w in window for w in self._prior_lc) and self._prior_before.search(text, a, start) is not None

    def _in_prior_clause(self, text: str, start: int) -> bool:
        """Does the clause before ``start`` place the reference on another exam?

        The clause runs back from the reference to the last ``.``/``;``/``!``/``?``
        before a space or line break (at most 160 characters). It places the reference
        on another exam when it holds a prior place ("on the prior CT of 01/02/2019", "on
        the comparison study", "in the previous exam", "on prior (") that is not the
        object of a comparison (no ``comparison_words`` entry before it in the clause:
        "compared to the findings on the prior CT", "increased from 5 mm on the prior CT")
        and is not followed by a ``current_words`` entry before the reference ("seen on
        the prior CT, now measures 8 mm", "... and 8 mm on the current study").
        "Stable compared to prior (series 3, image 45)" names no place: it is kept.
        """
        if self._prior_place is None:
            return False
        a = max(0, start - 160)
        window = text[a:start].lower()
        if not any(w in window for w in self._prior_lc):
            return False
        place = None
        for place in self._prior_place.finditer(text, a, start):
            pass
        if place is None:
            return False
        # the clause starts after the last sentence or clause end before the reference
        a += 1 + max(window.rfind(c) for c in (". ", "; ", "! ", "? ", ".\n", ";\n", "\n"))
        if place.start() < a:
            return False
        if self._comparison is not None and self._comparison.search(text, a, place.start()):
            return False
        return not (self._current is not None and self._current.search(text, place.end(), start))

    def _colon_ok(self, text: str, m: re.Match[str], low: str | None = None) -> bool:
        """Is this ``a:b`` a series:image pair rather than a time or a ratio?

        Rejected: a time word after it (``10:45 am``, ``10:30 position``), a
        ratio/time word before it (``ratio of 1:2``, ``at 10:45``), an image part
        with a leading zero (``10:05``: minutes have one, image numbers never),
        series 1 with an image under 10 (``1:2``), any image under 10 without a
        keyword in a sentence with a ``ratio_context`` word (``Gleason 3+4 (4:3)``;
        ``(2:1)`` alone cites image 1 of series 2 in real reports). Accepted: right after a series/image keyword
        (``series image: 7:254``), inside parentheses (also written ``(3; 240)``)
        unless clock-shaped in a sentence about a call, a date or a breast clock
        face (``clock_context``: "called to Dr. Jones (14:30)"), or bare where it cannot be a
        clock time (image part of 60 or more, three digits or more, or series above
        24), and bare time-shaped pairs only after "on"/"see" (``nodule on 3:23``)
        or set off by commas (``right upper lobe, 3:23, and``).
        """
        start, end = m.span()
        image = m.group("l3")
        series = int(m.group("s3"))
        digits = _DIGITS.match(image).group()  # type: ignore[union-attr]
        first = int(digits)
        if digits[0] == "0" and len(digits) >= 2:
            return False
        if self._time_after.match(text, end) or (self._ratio_after is not None and self._ratio_after.match(text, end)):
            return False
        if self._ratio_before.search(text[max(0, start - 16) : start]):
            return False
        if series == 1 and first < 10:
            return False  # "1:2": a ratio (or the scout, never a key image)
        # A journal citation, even after "Im" (Clinical Imaging): a year as the first
        # part with pages after it ("2004:28;216-218"), a year just before the pair
        # ("1992 (12:2)", an image part up to 12 as issue numbers are), pages after it
        # ("(12:2):347-357") or a citation word nearby.
        if 1900 <= series <= 2099 and len(m.group("s3")) == 4 and (";" in image or self._pages_after.match(text, end)):
            return False
        if self._pages_after.match(text, end):
            return False
        before = text[max(0, start - 24) : start]
        if "19" in before or "20" in before:  # a year may stand before the pair
            if self._vancouver_before.search(before):
                return False  # "Radiology 2017;284:228-243", "Chest. 2015 Jan 5;148:1-10"
            if _PAGE_RANGE(image) and self._year_pages_before.search(before):
                return False  # "(Radiology 2017 284:228-243)", "Tomogr 2005, 29:1-10"
        if first <= 12 and self._year_before.search(text, max(0, start - 8), start):
            return False  # an issue number after a year; "stable since 2019 (4:56)" stays
        # The letter runs of the pair's sentence window in ``low`` (the lower-cased ASCII
        # text, or None): a context word can match only where its first run is one of them.
        a, b = _sentence_bounds(text, start, end)
        runs = None if low is None else _LETTERS(low, a, b)
        if self._citation_context is not None and (runs is None or self._citation_runs is None
                                                   or not self._citation_runs.isdisjoint(runs)):
            window = text[a:b].lower()
            if any(w in window for w in self._citation_lc) and self._citation_context.search(text, a, b):
                return False
        # A keyword before the pair ends in a letter (then ".", ":" or "#"): a digit, a
        # bracket or a comma as the last visible character leaves none to find.
        tail = before.rstrip()[-1:]
        if (self._keywords is None or tail not in _NO_KEYWORD_END) and self._keyword_before.search(before):
            return True
        if first < 10 and self._ratio_context is not None:
            # "(2:1)" cites image 1 of series 2 in real reports, but beside "ratio",
            # "Gleason", "dilution" a small pair is a ratio: "Gleason 3+4 (4:3)".
            if (runs is None or self._ratio_runs is None or not self._ratio_runs.isdisjoint(runs)) \
                    and self._ratio_context.search(text, a, b):
                return False
        clock_like = len(digits) <= 2 and first < 60 and series <= 24
        # An open parenthesis within _PAREN_REACH characters before the pair: a bounded look
        # back (a pair without parentheses in a long text would otherwise rescan it all).
        lo = max(0, start - _PAREN_REACH)
        in_parens = text.rfind("(", lo, start) > text.rfind(")", lo, start)
        if in_parens:
            if clock_like and len(digits) == 2 and self._clock_context is not None:
                window = text[a:b]
                clock = runs is None or self._clock_runs is None or not self._clock_runs.isdisjoint(runs)
                if (clock and self._clock_context.search(window)) or _DATE.search(window):
                    return False
            return True
        if m.group("c3") == ";":
            return False
        if text[end - len(image) - 1].isspace() or text[m.start("c3") - 1].isspace():
            return False  # a label, not a pair: "DOL 56: 1.", "Patient 1: 72 year old"
        if not clock_like:
            return True
        if before.rstrip().endswith(",") and re.match(r"\s*[,.;)]", text[end : end + 2]):
            return True  # set off by commas like an aside: "right upper lobe, 3:23, and"
        return bool(self._on_before.search(before))

    def _emit(self, out: list[Reference], text: str, m: re.Match[str], series: int | None, lst: str) -> None:
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
                if len(images) == 2 and images[1] - images[0] > self.max_range:
                    self.capped_ranges += 1
            for image in images:
                out.append(Reference(current, image, start, end, span))


# How far back an open parenthesis still holds a colon pair: "(... series 3, image 45 ...)"
# parentheses close within a sentence; 300 characters is two long ones.
_PAREN_REACH = 300


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Text around ``text[start:end]`` that stands for its sentence when ``text`` is a
    whole report: the same line, at most 120 characters before and 80 after (periods
    are no guide: "Dr. Jones (14:30)")."""
    # Both searches stay inside the window: a text without line breaks is not rescanned.
    lo = max(0, start - 120)
    a = max(text.rfind("\n", lo, start) + 1, lo)
    b = text.find("\n", end, end + 80)
    return a, (min(len(text), end + 80) if b < 0 else b)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    return int(_DIGITS.search(value).group())  # type: ignore[union-attr]

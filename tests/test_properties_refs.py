"""Property-based tests (hypothesis) of the key-image reference grammar
(:class:`pacsmine.nlp.refs.ReferenceParser`): no input crashes it, every reference
lies inside the text in text order, each written image comes back with its own
series, and the work grows linearly with the text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from pacsmine.config import load_config
from pacsmine.nlp.refs import ReferenceParser
from steps import grows_linearly


@pytest.fixture(scope="module")
def parser():
    return ReferenceParser.from_config(load_config()["extract"]["references"])


# Pieces of reference-like text: keywords, numbers, lists, ranges, times, ratios, units.
PIECES = ["series", "Series", "se", "ser.", "image", "images", "img", "im", "IMA", "S", "I", "#", "3", "45", "1013",
          "78", "0", "07", "999999999999", "-", "\u2013", "to", "through", ",", "and", "&", ":", ";", "/", "(", ")", " ",
          "  ", ".", "\n", "of", "prior", "mm", "am", "ratio", "Gleason", "number of images", "coronal", "é"]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=50).map(" ".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=texts | st.lists(st.sampled_from(PIECES), max_size=50).map("".join))
def test_references_lie_inside_the_text_in_order(parser, text):
    refs = parser.parse(text)
    prev = 0
    for ref in refs:
        assert prev <= ref.start < ref.end <= len(text)
        assert text[ref.start : ref.end] == ref.text
        assert isinstance(ref.image, int) and ref.image >= 0
        assert ref.series is None or (isinstance(ref.series, int) and ref.series >= 0)
        prev = ref.start


# Written forms of one (series, image) pair, from the grammar's docstring; the colon
# shorthand only where it cannot be a ratio or a time (series >= 2, image >= 10).
FORMS = ["(series {s}, image {i})", "(Se {s} Im {i})", "series {s} image {i}", "image {i} of series {s}",
         "image {i} (series {s})", "ser. {s}, img. {i}", "series #{s} image #{i}", "series {s}/image {i}",
         "(series {s}, #{i})", "S{s} I{i}", "image {i} in series {s}", "SE {s} IMA {i}"]
FILLERS = ["Nodule", "Mass in the liver", "Stable finding", "The lungs are clear", "Small effusion", "Unchanged"]


@st.composite
def cited(draw):
    """A report text citing drawn (series, image) pairs, and the pairs in text order."""
    parts, pairs = [], []
    for _ in range(draw(st.integers(1, 6))):
        s, i = draw(st.integers(1, 9999)), draw(st.integers(1, 9999))
        if draw(st.booleans()) and s >= 2 and i >= 10:
            form = "({s}:{i})"
        else:
            form = draw(st.sampled_from(FORMS))
        if draw(st.booleans()):  # a range of images in one series
            last = i + draw(st.integers(1, 5))
            form = draw(st.sampled_from(["series {s} images {i} to {j}", "(series {s}, images {i}-{j})"]))
            pairs += [(s, k) for k in range(i, last + 1)]
            ref = form.format(s=s, i=i, j=last)
        else:
            pairs.append((s, i))
            ref = form.format(s=s, i=i)
        parts.append(f"{draw(st.sampled_from(FILLERS))} {ref}.")
    return draw(st.sampled_from([" ", "\n", "  "])).join(parts), pairs


@FAST
@given(case=cited())
def test_every_image_comes_back_with_its_own_series(parser, case):
    text, pairs = case
    assert [(r.series, r.image) for r in parser.parse(text)] == pairs


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map(" ".join))
@example(unit="3 3 :")  # found by hypothesis: the open-parenthesis look-back rescanned the whole text
def test_steps_grow_linearly_with_the_text(parser, unit):
    ok, small, large = grows_linearly(parser.parse, unit)
    assert ok, f"{unit!r}: {small} steps at 1x, {large} at 4x"

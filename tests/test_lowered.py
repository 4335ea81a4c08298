"""pacsmine.nlp.lowered: one lower-casing and one run split per sentence, shared."""

from hypothesis import given, settings, strategies as st

from pacsmine.nlp.lowered import alnum_runs, lowered


def test_lowered_gives_the_lower_case_text_and_its_letter_digit_runs():
    low, runs = lowered("Heart SIZE is normal; 12mm node (4:77).")
    assert low == "heart size is normal; 12mm node (4:77)."
    assert runs == ["heart", "size", "is", "normal", "12mm", "node", "4", "77"]


def test_lowered_answers_the_same_for_an_equal_sentence_and_after_another_one():
    a = "No pleural EFFUSION."
    b = "".join(["No pleural ", "EFFUSION."])  # equal text, another object
    first = lowered(a)
    assert lowered(b) == first == ("no pleural effusion.", ["no", "pleural", "effusion"])
    assert lowered("Lungs clear.") == ("lungs clear.", ["lungs", "clear"])
    assert lowered(a) == first


def test_runs_are_ascii_only():
    # "é" is no ASCII letter: the run stops there, as the term matcher's token pattern does
    assert alnum_runs("café au lait") == ["caf", "au", "lait"]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40)
       | st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=40)
       | st.text(alphabet="aZ9 \x1c\x1f\x85\u212a.", max_size=20))
def test_runs_of_ascii_and_other_text_are_the_regex_runs(text):
    # ASCII text (after lower(): the Kelvin sign becomes "k") takes the translate-and-split
    # path, other text the regex; both give the runs. \x1c-\x1f and \x85 are whitespace to split().
    low, runs = lowered(text)
    assert low == text.lower()
    assert runs == alnum_runs(low)

"""Tokenizer (per-document rules) and Vocabulary (corpus-level estimator)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from pacsmine.nlp.tokens import Tokenizer, Vocabulary, stopwords


def test_tokenizer_lowercases_keeps_words_and_numbers_and_drops_short():
    tok = Tokenizer()
    assert tok.tokenize("A 2.5 mm Nodule in the RUL, 1013 images; x-ray") == ["nodule", "the", "rul", "1013", "images", "ray"]


def test_tokenizer_rules_are_config_values():
    assert Tokenizer(min_length=1).tokenize("A b") == ["a", "b"]
    assert Tokenizer(pattern="[a-z]+").tokenize("image 45") == ["image"]
    stemmed = Tokenizer(stem=True).tokenize("Nodules nodular effusions 123")
    assert stemmed == ["nodul", "nodular", "effus", "123"]


def corpus():
    common = ["lung", "clear", "normal", "heart", "size"]
    docs = []
    for i in range(12):
        docs.append(common + [f"w{j}" for j in range(i % 4)] + ["nodule"] * (i % 2) + [f"rare{i}"])
    return docs


def test_vocabulary_drops_rare_and_most_frequent_terms():
    docs = corpus()
    vocab = Vocabulary(min_doc_freq=3, drop_top=5, min_doc_tokens=1).fit(iter(docs))
    assert vocab.n_documents_ == 12
    assert vocab.doc_freq_["lung"] == 12 and vocab.term_freq_["nodule"] == 6
    for t in ["lung", "clear", "normal", "heart", "size"]:
        assert vocab.reasons_[t] == "frequent"
    assert vocab.reasons_["rare3"] == "rare"
    assert "nodule" in vocab.kept_ and "w0" in vocab.kept_
    assert vocab.transform(["lung", "nodule", "rare3", "w1", "nodule"]) == ["nodule", "w1", "nodule"]


def test_documents_left_with_few_terms_are_dropped():
    vocab = Vocabulary(min_doc_freq=1, drop_top=0, min_doc_tokens=5).fit([["a", "b"]])
    assert not vocab.keep_document(vocab.transform(["a", "b"]))
    assert vocab.keep_document(["a"] * 5)


def test_stopwords_and_digits_are_optional_rules():
    docs = [["the", "123", "lung"]] * 3
    assert Vocabulary(drop_top=0).fit(docs).kept_ == {"the", "123", "lung"}
    vocab = Vocabulary(drop_top=0, drop_stopwords=True, stopwords="english", drop_digits=True).fit(docs)
    assert vocab.kept_ == {"lung"}
    assert vocab.reasons_ == {"the": "stopword", "123": "digit"}
    assert "the" in stopwords() and "lung" not in stopwords()


def test_table_round_trip_for_topics_infer():
    vocab = Vocabulary(min_doc_freq=3, drop_top=2, min_doc_tokens=1).fit(corpus())
    table = vocab.to_table()
    assert table.column_names == ["term", "doc_freq", "term_freq", "kept", "reason", "is_term"]
    assert table.schema.field("doc_freq").type == pa.int64()
    again = Vocabulary.from_table(table)
    assert again.kept_ == vocab.kept_
    doc = ["lung", "nodule", "w2", "rare1"]
    assert again.transform(doc) == vocab.transform(doc)


def test_fit_counts_equals_fit():
    from collections import Counter

    docs = corpus()
    df, tf = Counter(), Counter()
    for d in docs[:6]:
        df.update(set(d)), tf.update(d)
    df2, tf2 = Counter(), Counter()
    for d in docs[6:]:
        df2.update(set(d)), tf2.update(d)
    merged = Vocabulary().fit_counts(df + df2, tf + tf2, 12)
    assert merged.kept_ == Vocabulary().fit(docs).kept_


def test_term_spans_become_one_token_named_by_the_term():
    tok = Tokenizer()
    text = "Small left Pleural Effusions, no pneumothorax."
    # "Pleural Effusions" is text[11:28], "pneumothorax" text[33:45].
    spans = [(11, 28, "pleural effusion"), (33, 45, "Pneumothorax")]
    assert tok.tokenize_terms(text, spans) == ["small", "left", "pleural_effusion", "pneumothorax"]
    # Spans in any order; a span overlapping one already taken is ignored.
    assert tok.tokenize_terms(text, [(33, 45, "pneumothorax"), (11, 28, "pleural effusion"), (19, 28, "effusion")]) \
        == ["small", "left", "pleural_effusion", "pneumothorax"]
    # No spans: the plain tokenizer.
    assert tok.tokenize_terms(text, []) == tok.tokenize(text)
    # A term token keeps every word of its name (no length rule, no stemming): "Crohn's disease".
    assert Tokenizer(stem=True).term_token("Crohn's disease") == "crohn_s_disease"
    # A name without a word falls back to the span's own words.
    assert tok.tokenize_terms("a UTI here", [(2, 5, "")]) == ["uti", "here"]


def test_library_stopwords_are_the_stop_words_package_list():
    from stop_words import get_stop_words

    from pacsmine.nlp.tokens import library_stopwords

    assert library_stopwords("english") == frozenset(get_stop_words("english"))
    assert library_stopwords("") == frozenset()
    with pytest.raises(ValueError, match="no stop-word list for 'klingon'"):
        library_stopwords("klingon")


def test_document_frequency_fractions_scale_with_the_corpus():
    # 200 documents: "common" in all 200, "half" in 100, "few" in 1, "some" in 3.
    docs = [["common"] + (["half"] if i % 2 else []) + (["few"] if i == 0 else []) + (["some"] if i < 3 else [])
            for i in range(200)]
    vocab = Vocabulary(min_doc_freq=1, min_doc_fraction=0.01, max_doc_fraction=0.9).fit(docs)
    # rare below max(1, ceil(0.01 x 200) = 2) documents; frequent above 0.9 x 200 = 180.
    assert vocab.reasons_ == {"few": "rare", "common": "frequent"}
    assert vocab.kept_ == {"half", "some"}
    # The same fraction on a tenth of the corpus (20 documents): the floor is min_doc_freq.
    small = Vocabulary(min_doc_freq=1, min_doc_fraction=0.01, max_doc_fraction=0.9).fit(docs[:20])
    assert small.reasons_ == {"common": "frequent"}


def test_term_tokens_are_never_dropped():
    docs = [["pleural_effusion", "the", "lung"]] * 10 + [["atelectasis", "lung"]]
    rules = dict(min_doc_freq=2, max_doc_fraction=0.5, drop_top=1, drop_stopwords=True, stopwords="english")
    plain = Vocabulary(**rules).fit(docs)
    assert plain.reasons_ == {"pleural_effusion": "frequent", "lung": "frequent", "the": "stopword",
                              "atelectasis": "rare"}
    vocab = Vocabulary(**rules).fit(docs, terms={"pleural_effusion", "atelectasis", "absent_term"})
    assert vocab.kept_ == {"pleural_effusion", "atelectasis"}
    assert vocab.terms_ == {"pleural_effusion", "atelectasis"}  # only terms of the corpus
    table = vocab.to_table().to_pydict()
    assert dict(zip(table["term"], table["is_term"])) == {"lung": False, "pleural_effusion": True, "the": False,
                                                          "atelectasis": True}
    assert Vocabulary.from_table(vocab.to_table()).terms_ == vocab.terms_


def test_de_identification_masks_are_dropped():
    docs = [["xxxx", "xxx", "xx", "box", "lung"]] * 3
    vocab = Vocabulary(mask_pattern="x{3,}").fit(docs)
    # The whole token must match: "box" stays; "xx" is under the three letters.
    assert vocab.reasons_ == {"xxxx": "mask", "xxx": "mask"}
    assert Vocabulary().fit(docs).reasons_ == {}


def test_term_tokens_carry_the_mention_status_by_config():
    text = "No pleural effusion. Possible pneumonia, prior pneumothorax."
    # text[3:19] "pleural effusion", text[30:39] "pneumonia", text[47:59] "pneumothorax".
    spans = [(3, 19, "pleural effusion", "absent"), (30, 39, "pneumonia", "uncertain"),
             (47, 59, "pneumothorax", "historical")]
    # Without status rules every mention is its term token, as if present.
    assert Tokenizer().tokenize_terms(text, spans) == ["pleural_effusion", "possible", "pneumonia", "prior",
                                                       "pneumothorax"]
    marks = {"absent": "no", "uncertain": "possible", "historical": "prior"}
    tok = Tokenizer(status_tokens={"absent": "mark", "uncertain": "drop", "historical": "term"}, status_marks=marks)
    # Absent -> marked; uncertain -> no token, nor its words; historical -> the term token.
    assert tok.tokenize_terms(text, spans) == ["no_pleural_effusion", "possible", "prior", "pneumothorax"]
    # A present mention, or a span without a status, is always the term token.
    assert tok.tokenize_terms(text, [(3, 19, "pleural effusion", "present"), (47, 59, "pneumothorax")]) \
        == ["pleural_effusion", "possible", "pneumonia", "prior", "pneumothorax"]
    assert tok.mention_token("Pleural effusion", "absent") == "no_pleural_effusion"
    assert tok.mention_token("Pneumonia", "uncertain") == ""


def test_status_rules_are_checked():
    with pytest.raises(ValueError, match="status_tokens.absent"):
        Tokenizer(status_tokens={"absent": "negate"})
    with pytest.raises(ValueError, match="status_marks.absent"):
        Tokenizer(status_tokens={"absent": "mark"}, status_marks={})


def test_term_spans_with_a_pattern_that_looks_around():
    # A pattern with a word fence is applied to each piece between spans as a string of its
    # own (the pieces are not read in place): "b" at a piece's start is a word there.
    tok = Tokenizer(pattern=r"\bb\w*", min_length=1)
    assert tok.tokenize_terms("abc bcd", [(0, 1, "bx")]) == ["bx", "bc", "bcd"]
    # Non-ASCII text (lower() may change lengths) gives what the plain tokenizer gives per piece.
    # ("gr", "e", "of" are shorter than 3 characters.)
    assert Tokenizer().tokenize_terms("Größe of İnfarct here", [(9, 16, "infarct")]) == ["infarct", "here"]


def test_term_spans_keep_the_words_around_them_apart():
    # The default pattern's in-place path (tokens.py, _long_words): a span, kept or
    # dropped, between two runs of letters never joins them into one word.
    marks = {"uncertain": "possible"}
    drop = Tokenizer(status_tokens={"uncertain": "drop"}, status_marks=marks)
    assert drop.tokenize_terms("lungsPTXclear", [(5, 8, "pneumothorax", "uncertain")]) == ["lungs", "clear"]
    assert Tokenizer().tokenize_terms("lungsPTXclear", [(5, 8, "pneumothorax")]) == ["lungs", "pneumothorax", "clear"]
    # Letters and digits stay apart words ("12mm" -> "12", "mm"), the length rule applies around
    # the spans only, and a NUL in the text is text like any other separator.
    one = Tokenizer(min_length=1)
    assert one.tokenize_terms("a 12mm PTX, b", [(7, 10, "pneumothorax")]) == ["a", "12", "mm", "pneumothorax", "b"]
    assert Tokenizer().tokenize_terms("lungs\0PTX clear", [(6, 9, "pneumothorax")]) == ["lungs", "pneumothorax", "clear"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aB3 .,\0-xyz9", max_size=30), st.integers(0, 5),
       st.lists(st.tuples(st.integers(0, 30), st.integers(0, 8), st.sampled_from(["", "pleural effusion", "x"]),
                          st.sampled_from(["present", "absent", "uncertain"])), max_size=4))
def test_term_spans_in_place_give_what_each_piece_gives_alone(text, min_length, raw):
    # The in-place path (default pattern, ASCII) against the per-piece one: a pattern with the
    # same words ("(?:[a-z]+|[0-9]+)") that has no fast path.
    spans = [(a, min(a + n, len(text)), name, status) for a, n, name, status in raw if a <= len(text)]
    rules = dict(status_tokens={"absent": "mark", "uncertain": "drop"}, status_marks={"absent": "no"})
    fast = Tokenizer(min_length=min_length, **rules)
    slow = Tokenizer(pattern="(?:[a-z]+|[0-9]+)", min_length=min_length, **rules)
    assert fast.tokenize_terms(text, spans) == slow.tokenize_terms(text, spans)
    assert fast.tokenize_terms(text, spans) == slow.tokenize_terms(text, spans)  # memoised tokens

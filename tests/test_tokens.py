"""Tokenizer (per-document rules) and Vocabulary (corpus-level estimator)."""

from __future__ import annotations

import pyarrow as pa

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
    vocab = Vocabulary(drop_top=0, drop_stopwords=True, drop_digits=True).fit(docs)
    assert vocab.kept_ == {"lung"}
    assert vocab.reasons_ == {"the": "stopword", "123": "digit"}
    assert "the" in stopwords() and "lung" not in stopwords()


def test_table_round_trip_for_topics_infer():
    vocab = Vocabulary(min_doc_freq=3, drop_top=2, min_doc_tokens=1).fit(corpus())
    table = vocab.to_table()
    assert table.column_names == ["term", "doc_freq", "term_freq", "kept", "reason"]
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

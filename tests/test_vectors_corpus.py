"""The training text: report sentences with each term span one token, the extra corpus, the token file."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.config import load_config
from pacsmine.nlp.sentences import SentenceSplitter
from pacsmine.vectors.corpus import (PhraseJoiner, TokenCorpus, extra_sentence_tokens, report_sentence_tokens,
                                     vector_tokenizer, write_token_file)

SENTENCES = [
    ("A1", 0, "Small left pleural effusions are seen."),
    ("A1", 1, "No pneumothorax."),
    ("A2", 0, "Liver metastases, and a renal cyst."),
    ("A2", 1, ""),
]
# (accession, sentence_index, start, end, text, name, status): spans counted by hand.
TERMS = [
    ("A1", 0, 11, 28, "pleural effusions", "Pleural Effusion", "present"),
    ("A1", 1, 3, 15, "pneumothorax", "pneumothorax", "absent"),
    ("A2", 0, 0, 16, "Liver metastases", "liver metastasis", "present"),
    ("A2", 0, 24, 34, "renal cyst", "kidney cyst", "uncertain"),
]


def _tables(tmp_path, terms=TERMS):
    sentences = tmp_path / "sentences.parquet"
    pq.write_table(pa.table({"accession": [s[0] for s in SENTENCES],
                             "sentence_index": pa.array([s[1] for s in SENTENCES], pa.int32()),
                             "text": [s[2] for s in SENTENCES]}), sentences)
    path = tmp_path / "terms.parquet"
    names = ["accession", "sentence_index", "start", "end", "text", "name", "status"]
    pq.write_table(pa.table({n: [t[i] for t in terms] for i, n in enumerate(names)}), path)
    return sentences, path


@pytest.fixture
def tokenizer():
    config = load_config()
    return vector_tokenizer(config["extract"]["tokens"], config["vectors"]["status_tokens"])


def test_sentences_check_spans_by_hand():
    for accession, index, start, end, text, *_ in TERMS:
        sentence = next(s[2] for s in SENTENCES if s[:2] == (accession, index))
        assert sentence[start:end] == text


def test_each_term_span_is_one_token_named_by_its_concept(tmp_path, tokenizer):
    sentences, terms = _tables(tmp_path)
    got = list(report_sentence_tokens(sentences, terms, tokenizer, batch_size=2))
    assert got == [
        ["small", "left", "pleural_effusion", "are", "seen"],
        ["pneumothorax"],  # absent: still the term's own token (vectors.status_tokens); "no" is under 3 letters
        ["liver_metastasis", "and", "kidney_cyst"],
        [],
    ]


def test_terms_out_of_step_with_the_sentences_is_an_error(tmp_path, tokenizer):
    sentences, terms = _tables(tmp_path, [TERMS[2], TERMS[0]])
    with pytest.raises(ValueError, match="does not follow the order"):
        list(report_sentence_tokens(sentences, terms, tokenizer, batch_size=2))


def test_phrase_joiner_takes_the_longest_known_phrase(tokenizer):
    joiner = PhraseJoiner(tokenizer, [("pleural effusions", "Pleural Effusion"), ("effusion", "effusion"),
                                      ("malignant pleural effusions", "malignant pleural effusion")])
    assert joiner.tokens("Malignant pleural effusions and an effusion; pleural effusions, no.") == [
        "malignant_pleural_effusion", "and", "effusion", "pleural_effusion"]


def test_extra_corpus_files_are_split_into_sentences(tmp_path, tokenizer):
    folder = tmp_path / "extra"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Pleural effusions are common. The liver is normal.")
    (folder / "sub" / "b.txt").write_text("Bone scan.")
    (folder / "ignored.md").write_text("not read")
    joiner = PhraseJoiner(tokenizer, [("pleural effusions", "Pleural Effusion")])
    got = list(extra_sentence_tokens(folder, joiner, SentenceSplitter()))
    assert got == [["pleural_effusion", "are", "common"], ["the", "liver", "normal"], ["bone", "scan"]]


def test_token_file_streams_again_on_every_pass(tmp_path):
    path = tmp_path / "tokens.parquet"
    counts = write_token_file(path, iter([["a", "b"], [], ["c"], ["d", "e", "f"]]), batch_size=2)
    assert counts == {"sentences": 3, "empty": 1, "tokens": 6}
    corpus = TokenCorpus([path, path], batch_size=1)
    assert len(corpus) == 6
    assert list(corpus) == list(corpus) == [["a", "b"], ["c"], ["d", "e", "f"]] * 2

"""Stored word vectors: lookup, cosine neighbours on a hand-made matrix, safetensors round trip without pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.vectors.keyed import WordVectors, load_vectors, lookup_key, save_matrix

# Unit-free hand-made vectors; cosines to "a" = (1, 0) worked out by hand:
# b (1, 1): 1/sqrt(2) = 0.7071; c (0, 2): 0; d (-3, 0): -1; e (3, 0.1): 3/sqrt(9.01) = 0.99945
WORDS = ["a", "b", "c", "d", "e", "pleural_effusion"]
MATRIX = np.array([[1, 0], [1, 1], [0, 2], [-3, 0], [3, 0.1], [0, -1]], dtype=np.float32)


@pytest.fixture
def vectors():
    return WordVectors(WORDS, MATRIX)


def test_most_similar_by_word_leaves_the_word_out(vectors):
    got = vectors.most_similar("a", 3)
    assert [w for w, _ in got] == ["e", "b", "c"]
    assert [round(c, 4) for _, c in got] == [0.9994, 0.7071, 0.0]


def test_most_similar_by_vector_and_among(vectors):
    got = vectors.most_similar(np.array([0.0, 5.0]), 2)
    assert [w for w, _ in got] == ["c", "b"]
    assert got[0][1] == pytest.approx(1.0) and got[1][1] == pytest.approx(1 / np.sqrt(2))
    assert [w for w, _ in vectors.most_similar("a", 5, among=["d", "c", "zzz"])] == ["c", "d"]
    assert vectors.most_similar("a", 0) == []


def test_lookup_normalises_what_users_type(vectors):
    assert lookup_key("Pleural Effusion") == "pleural_effusion"
    assert vectors.key("pleural effusion") == "pleural_effusion"
    assert vectors.vector("Pleural-Effusion").tolist() == [0.0, -1.0]
    assert vectors.vector("nothing") is None and vectors.key("nothing") is None
    with pytest.raises(KeyError):
        vectors.most_similar("nothing", 3)
    assert vectors.suggest("pleural efusion", 3) == ["pleural_effusion"]


def test_round_trip_never_unpickles(tmp_path, monkeypatch):
    save_matrix(tmp_path / "vectors.safetensors", MATRIX)
    # rows stored out of order: load puts each word at its index
    pq.write_table(pa.table({"word": ["b", "a", "c", "d", "e", "pleural_effusion"],
                             "index": pa.array([1, 0, 2, 3, 4, 5], pa.int32())}), tmp_path / "vocabulary.parquet")

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = load_vectors(tmp_path)
    assert loaded.words == WORDS and loaded.matrix.dtype == np.float32
    assert np.array_equal(loaded.matrix, MATRIX)
    assert {p.suffix for p in tmp_path.iterdir()} == {".safetensors", ".parquet"}


def test_missing_vectors_say_which_stage_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="pacsmine vectors"):
        load_vectors(tmp_path)


def test_words_and_matrix_must_agree():
    with pytest.raises(ValueError):
        WordVectors(["a"], MATRIX)

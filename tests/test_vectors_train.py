"""word2vec settings reach gensim, term tokens survive min_count, a seed repeats a run."""

from __future__ import annotations

import numpy as np
import pytest

from pacsmine.config import load_config
from pacsmine.vectors.train import scaled_epochs, train_word2vec, word2vec_params

CORPUS = [["left", "pleural_effusion", "small"], ["lung", "nodule", "small"], ["liver", "lesion", "small"],
          ["rare_term", "lung"], ["once", "liver"]] * 1 + [["lung", "liver", "small"]] * 4


@pytest.fixture
def cfg():
    return dict(load_config()["vectors"], workers=1, epochs=2)


def test_the_papers_settings_reach_gensim(cfg):
    model = train_word2vec(CORPUS, word2vec_params(dict(cfg, min_count=1)))
    # skip-gram, hierarchical softmax without negative sampling, 256-d, window 10, sample 1e-4
    assert (model.sg, model.hs, model.negative) == (1, 1, 0)
    assert model.vector_size == 256 and model.wv.vectors.shape == (9, 256)  # 9 distinct words
    assert model.window == 10 and model.sample == 1e-4 and model.epochs == 2
    assert model.wv.vectors.dtype == np.float32


def test_term_tokens_are_kept_below_min_count(cfg):
    params = word2vec_params(dict(cfg, min_count=2, vector_size=8))
    plain = train_word2vec(CORPUS, params)
    kept = train_word2vec(CORPUS, params, keep=frozenset({"rare_term", "pleural_effusion"}))
    # counted by hand: lung 6, small 7, liver 6 ... ; rare_term, pleural_effusion, once: 1 each
    assert "rare_term" not in plain.wv and "pleural_effusion" not in plain.wv
    assert {"rare_term", "pleural_effusion"} <= set(kept.wv.index_to_key)
    assert "once" not in kept.wv
    assert kept.wv.get_vecattr("lung", "count") == 6


def test_one_worker_and_a_seed_repeat_the_vectors(cfg):
    params = word2vec_params(dict(cfg, min_count=1, vector_size=8))
    first, second = train_word2vec(CORPUS, params), train_word2vec(CORPUS, params)
    assert np.array_equal(first.wv.vectors, second.wv.vectors)


@pytest.mark.parametrize("override, key", [({"vector_size": 0}, "vector_size"), ({"window": 0}, "window"),
                                           ({"hierarchical_softmax": False, "negative": 0}, "negative")])
def test_bad_settings_name_their_key(cfg, override, key):
    with pytest.raises(ValueError, match=key):
        word2vec_params(dict(cfg, **override))


def test_workers_zero_means_every_core(cfg):
    import os

    assert word2vec_params(dict(cfg, workers=0))["workers"] == (os.cpu_count() or 1)


def test_a_corpus_without_any_word_over_min_count_is_an_error(cfg):
    with pytest.raises(ValueError, match="min_count"):
        train_word2vec([["a"], ["b"]], word2vec_params(dict(cfg, min_count=5, vector_size=8)))


def test_a_small_corpus_gets_more_passes():
    # ceil(5e6 / 278,533) = 18 (the demo phantom); ceil(5e6 / 77,943) = 65, capped at 50 (MedPix);
    # 10^8 tokens: 1 pass wanted, the configured minimum of 5 kept
    assert scaled_epochs(278_533, 5, 5_000_000, 50) == 18
    assert scaled_epochs(77_943, 5, 5_000_000, 50) == 50
    assert scaled_epochs(100_000_000, 5, 5_000_000, 50) == 5
    assert scaled_epochs(0, 5, 0, 50) == 5

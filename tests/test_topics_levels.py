import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.topics.lda import ParquetCorpus
from pacsmine.topics.levels import fit_level, group_rows, level_params, read_theta, write_theta
from pacsmine.topics.selection import choose_k
from pacsmine.topics.synthetic import lda_corpus


@pytest.fixture
def corpus(tmp_path):
    docs, _, _ = lda_corpus(160, 3, vocab_size=100, doc_length=40, alpha=0.05, seed=3)
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"tokens": pa.array(docs, pa.list_(pa.string()))}), path)
    return ParquetCorpus(path), [f"p{i // 2}" for i in range(160)]


def _params(config, **level):
    # min_candidates = 1: these tests follow the search past the ends of a grid given as is.
    base = dict(config["topics"]["level1"], k_grid=[2, 3, 6], docs_per_topic=10, selection_iterations=40,
                iterations=40, min_candidates=1)
    base.update(level)
    return level_params(dict(config["topics"], workers=1), base)


def test_level_params_let_a_level_override_the_shared_priors(config):
    params = level_params(config["topics"], dict(config["topics"]["level3"], alpha=0.5))
    assert params["alpha"] == 0.5 and params["eta"] == config["topics"]["eta"]
    assert params["rule"] == "elbow"


def test_fit_level_searches_the_grid_then_fits_every_document(config, corpus):
    docs, patients = corpus
    fit = fit_level(docs, patients, _params(config), "level1", show_progress=False)
    sel = fit.selection
    # The grid, then (this small corpus scores K = 6 lowest) one doubling past its top.
    assert sel["searched"] and sel["grid"] == [2, 3, 6] and sel["k"][:3] == [2, 3, 6]
    assert sel["k"] == sorted(sel["k"]) and not sel["at_grid_edge"]
    assert sel["n_train"] + sel["n_heldout"] == 160 and sel["n_heldout"] > 0
    assert all(np.isfinite(sel["perplexity"])) and all(-1 <= c <= 1 for c in sel["npmi"])
    assert sel["chosen_k"] == choose_k(sel["k"], sel["perplexity"])
    assert fit.model.k_ == sel["chosen_k"] and fit.theta.shape == (160, sel["chosen_k"])
    # Two topics explain three true ones worse than three do.
    assert sel["perplexity"][0] > sel["perplexity"][1]


@pytest.fixture(scope="module")
def three_topics(tmp_path_factory):
    """400 documents of 3 true topics: large enough that held-out perplexity reliably
    prefers K = 3 (checked over ten corpus seeds)."""
    docs, _, _ = lda_corpus(400, 3, vocab_size=200, doc_length=60, alpha=0.05, seed=1)
    path = tmp_path_factory.mktemp("three") / "docs.parquet"
    pq.write_table(pa.table({"tokens": pa.array(docs, pa.list_(pa.string()))}), path)
    return ParquetCorpus(path), [f"p{i // 2}" for i in range(400)]


def _search(config, corpus, **level):
    docs, patients = corpus
    params = _params(config, selection_iterations=60, **level)
    return fit_level(docs, patients, params, "level1", show_progress=False).selection


def test_an_optimum_at_the_smallest_k_extends_the_search_down(config, three_topics):
    sel = _search(config, three_topics, k_grid=[6, 12], min_k=2)
    # 6 is lowest of the grid: halved to 3, which is lowest again, then to the floor 2.
    assert sel["grid"] == [6, 12] and sel["k"] == [2, 3, 6, 12]
    assert sel["chosen_k"] <= 4 and not sel["at_grid_edge"]
    # The floor stops the descent: with min_k = 6 the grid's edge is the bound itself.
    floored = _search(config, three_topics, k_grid=[6, 12], min_k=6)
    assert floored["k"] == [6, 12] and floored["chosen_k"] == 6 and floored["at_grid_edge"]


def test_an_interior_optimum_does_not_extend(config, three_topics):
    sel = _search(config, three_topics, k_grid=[2, 3, 6])
    assert sel["k"] == [2, 3, 6] and sel["chosen_k"] == 3 and not sel["at_grid_edge"]


def test_an_optimum_at_the_largest_k_extends_up_to_the_cap(config, three_topics):
    # docs_per_topic 10: cap 40; K = 3 at the top of the grid is doubled once, to 6.
    sel = _search(config, three_topics, k_grid=[2, 3])
    assert sel["k"] == [2, 3, 6] and sel["chosen_k"] == 3 and not sel["at_grid_edge"]
    # 400 documents / 130 per topic: cap 3, already searched, so the optimum sits at the bound.
    capped = _search(config, three_topics, k_grid=[2, 3], docs_per_topic=130)
    assert capped["k"] == [2, 3] and capped["k_bounds"] == [2, 3] and capped["at_grid_edge"]


def test_the_elbow_rule_extends_down_when_the_first_step_is_already_flat(config, three_topics):
    # Past K = 3 the curve is flat: from 6 on the first decrease is below 3 %, so the
    # search tries 3 (a large decrease from 2 to 3) and 2; the elbow is then at 3.
    sel = _search(config, three_topics, k_grid=[6, 12], rule="elbow", min_decrease=0.03)
    assert sel["k"] == [2, 3, 6, 12] and sel["chosen_k"] == 3 and not sel["at_grid_edge"]


def test_fit_level_with_a_single_candidate_does_not_search(config, corpus):
    docs, patients = corpus
    fit = fit_level(docs, patients, _params(config, k_grid=[4]), "level2/0", show_progress=False)
    assert not fit.selection["searched"] and fit.selection["chosen_k"] == 4 and fit.selection["k"] == []


def test_group_rows():
    groups = group_rows(np.array([2, 0, 2, 1, 0]))
    assert {k: v.tolist() for k, v in groups.items()} == {0: [1, 4], 1: [3], 2: [0, 2]}


def test_a_rerun_resumes_from_the_checkpoint_without_fitting(config, corpus, tmp_path, monkeypatch):
    docs, patients = corpus
    scratch = tmp_path / "partial"
    first = fit_level(docs, patients, _params(config), "level1", show_progress=False, checkpoint=scratch)
    chosen = first.selection["chosen_k"]
    assert (scratch / "k2.json").exists() and (scratch / f"final_k{chosen}.bin").exists()

    def no_fit(self, corpus, callback=None):
        raise AssertionError("a checkpointed fit ran again")

    monkeypatch.setattr("pacsmine.topics.levels.TopicModel.fit", no_fit)
    again = fit_level(docs, patients, _params(config), "level1", show_progress=False, checkpoint=scratch)
    assert again.selection["perplexity"] == pytest.approx(first.selection["perplexity"])
    assert again.selection["chosen_k"] == chosen
    assert np.allclose(again.theta, first.theta)
    assert np.allclose(again.model.topic_word_, first.model.topic_word_)


def test_theta_round_trip(tmp_path):
    theta = np.random.default_rng(0).dirichlet(np.ones(4), size=7).astype(np.float32)
    assert np.array_equal(read_theta(write_theta(tmp_path / "t.parquet", theta)), theta)


def test_a_grid_with_too_few_candidates_gets_min_candidates(config, corpus):
    docs, patients = corpus
    # 160 documents, docs_per_topic 10: cap 16; one candidate (4) fits, so the grid is four
    # K from 2 to 16 on a log scale: 2 * 8^(i/3) = 2, 4, 8, 16.
    fit = fit_level(docs, patients, _params(config, k_grid=[4, 40], min_candidates=4), "level1", show_progress=False)
    assert fit.selection["grid"] == [2, 4, 8, 16] and fit.selection["searched"]
    assert fit.selection["k"][:4] == [2, 4, 8, 16]


@pytest.fixture(scope="module")
def eight_topics(tmp_path_factory):
    """400 documents of 8 true topics: perplexity keeps falling over K = 2, 3, 4."""
    docs, _, _ = lda_corpus(400, 8, vocab_size=200, doc_length=60, alpha=0.05, seed=1)
    path = tmp_path_factory.mktemp("eight") / "docs.parquet"
    pq.write_table(pa.table({"tokens": pa.array(docs, pa.list_(pa.string()))}), path)
    return ParquetCorpus(path), [f"p{i // 2}" for i in range(400)]


def test_at_cap_knee_chooses_when_perplexity_is_lowest_at_the_cap(config, eight_topics):
    # 400 documents / 100 per topic: cap 4, the top of the grid.
    paper = _search(config, eight_topics, k_grid=[2, 3, 4], docs_per_topic=100, at_cap="cap")
    p = paper["perplexity"]
    assert paper["k"] == [2, 3, 4] and p[0] > p[1] > p[2]
    assert paper["chosen_k"] == paper["rule_k"] == 4 and paper["at_grid_edge"] and not paper["cap_fallback"]
    knee = _search(config, eight_topics, k_grid=[2, 3, 4], docs_per_topic=100, at_cap="knee")
    assert knee["perplexity"] == p and knee["rule_k"] == 4
    # K = 3 is a knee when its perplexity lies below the chord's midpoint (p[0] + p[2]) / 2.
    assert p[1] < (p[0] + p[2]) / 2
    assert knee["chosen_k"] == 3 and knee["cap_fallback"] and not knee["at_grid_edge"]

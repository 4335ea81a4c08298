import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.topics.evaluate import adjusted_rand_index, contingency, evaluate_topics, normalized_mutual_info, purity

TRUTH = ["a", "a", "a", "b", "b", "b"]
PRED = ["0", "0", "1", "1", "2", "2"]


def test_contingency_counts_pairs():
    table = contingency(TRUTH, PRED)
    assert table.tolist() == [[2, 1, 0], [0, 1, 2]]


def test_nmi_matches_hand_computation():
    # MI = (2/3) ln 2, H(T) = ln 2, H(P) = ln 3  ->  NMI = (4/3) ln 2 / ln 6
    assert normalized_mutual_info(TRUTH, PRED) == pytest.approx((4 / 3) * math.log(2) / math.log(6))


def test_ari_matches_hand_computation():
    # sum C(n_ij,2) = 2, rows 6, cols 3, C(6,2) = 15: (2 - 1.2) / (4.5 - 1.2)
    assert adjusted_rand_index(TRUTH, PRED) == pytest.approx(0.8 / 3.3)


def test_purity_matches_hand_computation():
    assert purity(TRUTH, PRED) == pytest.approx(5 / 6)


def test_identical_partitions_score_one_whatever_the_names():
    relabelled = ["x" if t == "a" else "y" for t in TRUTH]
    assert normalized_mutual_info(TRUTH, relabelled) == pytest.approx(1.0)
    assert adjusted_rand_index(TRUTH, relabelled) == pytest.approx(1.0)
    assert purity(TRUTH, relabelled) == 1.0


def test_independent_partitions_score_zero():
    truth = ["a", "a", "b", "b"]
    pred = ["0", "1", "0", "1"]
    assert normalized_mutual_info(truth, pred) == pytest.approx(0.0, abs=1e-12)
    assert adjusted_rand_index(truth, pred) < 0  # worse than chance here: -0.5
    assert adjusted_rand_index(truth, pred) == pytest.approx(-0.5)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        contingency(["a"], ["0", "1"])


class _FakeWorkspace:
    def __init__(self, root, metrics):
        self.root = root
        self._metrics = metrics

    def metrics(self, name):
        return self._metrics

    def require(self, name, relative):
        return self.root / name / relative


def test_evaluate_topics_against_truth_and_without(tmp_path):
    (tmp_path / "topics" / "level1").mkdir(parents=True)
    pq.write_table(pa.table({"accession": ["r1", "r2", "r3", "r4", "r5"], "topic": ["0", "0", "1", "1", "1"]}),
                   tmp_path / "topics" / "level1" / "doc_topics.parquet")
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(pa.table({"accession": ["r1", "r2", "r3", "r4", "x"],
                             "case_type": ["c/a", "c/a", "c/b", "c/b", "c/c"]}), truth / "reports.parquet")
    ws = _FakeWorkspace(tmp_path, {"level1": {"chosen_k": 2}, "level2": {"n_topics": 5}, "level3": {"chosen_k": 9}})
    result = evaluate_topics(ws, truth)
    assert result["documents_scored"] == 4 and result["documents_unmatched"] == 1
    assert result["nmi"] == pytest.approx(1.0) and result["ari"] == pytest.approx(1.0)
    assert result["true_case_types"] == 3
    assert result["k_ratio"] == pytest.approx(2 / 3) and result["k_near_truth"] is True
    assert result["chosen_k"] == {"level1": 2, "level2": 5, "level3": 9}
    assert evaluate_topics(ws, None) == {"truth": None, "chosen_k": {"level1": 2, "level2": 5, "level3": 9}}

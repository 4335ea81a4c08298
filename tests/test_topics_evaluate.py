import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.topics.evaluate import (
    adjusted_rand_index,
    contingency,
    evaluate_topics,
    normalized_mutual_info,
    primary_label,
    purity,
)

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

    def stage_dir(self, name):
        return self.root / name


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


def test_primary_label_is_the_first_labels_head():
    assert primary_label(["Cardiomegaly/mild", "Pulmonary Atelectasis/base/left"]) == "Cardiomegaly"
    assert primary_label(["normal"]) == "normal"
    assert primary_label([" ", "Opacity/lung"]) == "Opacity"
    assert primary_label(None) is None and primary_label([]) is None


def test_evaluate_topics_against_labels_with_and_without_truth(tmp_path):
    (tmp_path / "topics" / "level1").mkdir(parents=True)
    (tmp_path / "ingest").mkdir()
    pq.write_table(pa.table({"accession": ["r1", "r2", "r3", "r4", "r5", "r6"],
                             "topic": ["0", "0", "1", "1", "1", "0"]}),
                   tmp_path / "topics" / "level1" / "doc_topics.parquet")
    labels = [["normal"], ["normal", "Opacity/lung"], ["Cardiomegaly/mild"], ["Cardiomegaly"],
              ["Opacity/lung/base", "Cardiomegaly"], None]
    pq.write_table(pa.table({"accession": ["r1", "r2", "r3", "r4", "r5", "r6"],
                             "labels": pa.array(labels, pa.list_(pa.string()))}), tmp_path / "ingest" / "reports.parquet")
    ws = _FakeWorkspace(tmp_path, {"level1": {"chosen_k": 2}})
    got = evaluate_topics(ws, None)["labels"]
    # r6 has no labels; classes normal, normal, Cardiomegaly, Cardiomegaly, Opacity in topics 0, 0, 1, 1, 1.
    t, p = ["normal", "normal", "Cardiomegaly", "Cardiomegaly", "Opacity"], ["0", "0", "1", "1", "1"]
    assert got["documents_scored"] == 5 and got["documents_unlabelled"] == 1
    assert got["label_classes"] == 3 and got["majority_share"] == pytest.approx(0.4)
    assert got["nmi"] == pytest.approx(normalized_mutual_info(t, p))
    assert got["ari"] == pytest.approx(adjusted_rand_index(t, p)) and got["purity"] == pytest.approx(0.8)
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(pa.table({"accession": ["r1"], "case_type": ["c/a"]}), truth / "reports.parquet")
    with_truth = evaluate_topics(ws, truth)
    assert with_truth["labels"] == got and with_truth["documents_scored"] == 1


def test_evaluate_topics_says_nothing_of_labels_when_there_are_none(tmp_path):
    (tmp_path / "topics" / "level1").mkdir(parents=True)
    (tmp_path / "ingest").mkdir()
    pq.write_table(pa.table({"accession": ["r1"], "topic": ["0"]}), tmp_path / "topics" / "level1" / "doc_topics.parquet")
    ws = _FakeWorkspace(tmp_path, {})
    assert "labels" not in evaluate_topics(ws, None)  # no reports table
    pq.write_table(pa.table({"accession": ["r1"], "labels": pa.array([None], pa.list_(pa.string()))}),
                   tmp_path / "ingest" / "reports.parquet")
    assert "labels" not in evaluate_topics(ws, None)  # a labels column with none set

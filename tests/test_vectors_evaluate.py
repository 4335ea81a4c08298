"""precision@k of term neighbours against labels, its chance baseline, labels from a truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.vectors.evaluate import concept_labels, precision_at_k, truth_concepts
from pacsmine.vectors.keyed import WordVectors

# Two tight groups on two axes and one word in between. By hand, the cosines:
#   lung_a, lung_b, lung_c ~ (1, 0); liver_a, liver_b ~ (0, 1); mixed = (1, 1).
WORDS = ["lung_a", "lung_b", "lung_c", "liver_a", "liver_b", "mixed", "unlabelled"]
MATRIX = np.array([[1, 0], [1, 0.1], [1, -0.1], [0, 1], [0.1, 1], [1, 0.9], [-1, -1]], dtype=np.float32)
LABELS = {"lung_a": "chest", "lung_b": "chest", "lung_c": "chest", "liver_a": "abdomen", "liver_b": "abdomen",
          "mixed": "abdomen", "no_vector": "chest"}


def test_precision_at_k_by_hand():
    scores = precision_at_k(WordVectors(WORDS, MATRIX), LABELS, k=2)
    # nearest 2 among the 6 labelled words with a vector ("unlabelled" and "no_vector" take no part):
    # lung_a: lung_b, lung_c -> 1;  lung_b: lung_a, lung_c -> 1;  lung_c: lung_a, lung_b -> 1
    # liver_a: liver_b, mixed -> 1; liver_b: liver_a, mixed -> 1
    # mixed (1, 0.9): lung_b (1, 0.1) cos 0.806, lung_a 0.743, liver_b 0.740 -> lung_b, lung_a -> 0
    assert scores["by_term"] == {"lung_a": 1.0, "lung_b": 1.0, "lung_c": 1.0, "liver_a": 1.0, "liver_b": 1.0,
                                 "mixed": 0.0}
    assert scores["precision"] == pytest.approx(5 / 6)
    # chance: a chest word has 2 of 5 others chest; an abdomen word 2 of 5 -> 0.4 each
    assert scores["chance"] == pytest.approx(0.4)
    assert scores["terms"] == 6 and scores["k"] == 2


def test_fewer_than_two_scored_words_give_no_score():
    scores = precision_at_k(WordVectors(WORDS, MATRIX), {"lung_a": "chest"}, k=5)
    assert scores["precision"] is None and scores["chance"] is None and scores["terms"] == 0


def test_concept_labels_need_a_majority_share():
    reports = {"r1": "chest", "r2": "chest", "r3": "abdomen", "r4": "head"}
    concepts = {"pneumonia": ["r1", "r2", "r3"], "metastasis": ["r1", "r3", "r4"], "tie": ["r1", "r3"],
                "unknown": ["r9"]}
    assert concept_labels(reports, concepts, 0.6) == {"pneumonia": "chest"}
    # 0.5: the tie takes the first label in sorted order; metastasis (1 of 3 each) still none
    assert concept_labels(reports, concepts, 0.5) == {"pneumonia": "chest", "tie": "abdomen"}


def test_truth_concepts_read_findings_and_present_mentions(tmp_path):
    pq.write_table(pa.table({"accession": ["A", "B"], "region": ["chest", "head"],
                             "case_type": ["chest/pneumonia", "head/meningioma"],
                             "findings": [["pneumonia"], ["meningioma"]]}), tmp_path / "reports.parquet")
    pq.write_table(pa.table({"accession": ["A", "A", "B", "B"],
                             "concept": ["pleural effusion", "pneumothorax", "headache", "hydrocephalus"],
                             "status": ["present", "absent", "present", "present"],
                             "family": ["finding", "finding", "symptom", "finding"]}), tmp_path / "mentions.parquet")
    region, case_type, concepts = truth_concepts(tmp_path)
    assert region == {"A": "chest", "B": "head"} and case_type["B"] == "head/meningioma"
    assert concepts == {"pneumonia": {"A"}, "meningioma": {"B"}, "pleural effusion": {"A"}, "hydrocephalus": {"B"}}

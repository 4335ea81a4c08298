"""The key-image data set's rules: patient-grouped stratified split, rare topics, flagged topics."""

from collections import Counter

import pytest

from pacsmine.images.dataset import class_counts, flagged_mask, kept_classes, split_by_patient, topic_sort_key


def test_single_image_patients_split_exactly_85_5_10_per_stratum():
    # Topic "a": 100 patients of one image; topic "b": 40 patients of one image.
    patients = [f"a{i}" for i in range(100)] + [f"b{i}" for i in range(40)]
    strata = ["a"] * 100 + ["b"] * 40
    parts = split_by_patient(patients, strata, [0.85, 0.05, 0.10], seed=3)
    a = Counter(parts[:100])
    b = Counter(parts[100:])
    assert (a["train"], a["validation"], a["test"]) == (85, 5, 10)
    assert (b["train"], b["validation"], b["test"]) == (34, 2, 4)


def test_no_patient_on_two_sides_and_counts_exact_with_two_image_patients():
    # 20 patients of 2 images each, all topic "7": targets 34 / 2 / 4 images, all even.
    patients = [f"p{i // 2}" for i in range(40)]
    strata = ["7"] * 40
    parts = split_by_patient(patients, strata, [0.85, 0.05, 0.10], seed=0)
    sides = {}
    for p, s in zip(patients, parts):
        sides.setdefault(p, set()).add(s)
    assert all(len(s) == 1 for s in sides.values())
    assert Counter(parts) == {"train": 34, "validation": 2, "test": 4}


def test_patient_stratum_is_its_most_frequent_topic():
    # Patient "x" has 2 images of topic 1 and 1 of topic 2: all three go where topic 1's patients go.
    patients = ["x", "x", "x"] + [f"q{i}" for i in range(17)]
    strata = ["1", "1", "2"] + ["1"] * 17
    parts = split_by_patient(patients, strata, [0.85, 0.05, 0.10], seed=1)
    assert len(set(parts[:3])) == 1
    # Stratum "1" holds all 20 images: 17 / 1 / 2.
    assert Counter(parts) == {"train": 17, "validation": 1, "test": 2}


def test_split_is_repeatable_and_seed_dependent():
    patients = [f"p{i}" for i in range(200)]
    strata = [str(i % 4) for i in range(200)]
    one = split_by_patient(patients, strata, [0.85, 0.05, 0.10], seed=5)
    two = split_by_patient(patients, strata, [0.85, 0.05, 0.10], seed=5)
    other = split_by_patient(patients, strata, [0.85, 0.05, 0.10], seed=6)
    assert list(one) == list(two)
    assert list(one) != list(other)


def test_bad_fractions_are_a_value_error():
    with pytest.raises(ValueError, match="fractions"):
        split_by_patient(["a"], ["1"], [0.5, 0.2, 0.2], seed=0)


def test_rare_topic_left_out_when_missing_from_one_part():
    labels = ["1"] * 6 + ["2"] * 3 + ["3"] * 2 + [None]
    parts = ["train", "train", "train", "train", "validation", "test",
             "train", "validation", "test",
             "train", "train",
             "test"]
    # "1": 4/1/1, "2": 1/1/1 kept; "3": 2/0/0 left out; None ignored.
    assert kept_classes(labels, parts, 1) == ["1", "2"]
    # At least 2 in each part: none has 2 validation images.
    assert kept_classes(labels, parts, 2) == []
    assert class_counts(labels, parts)["3"] == {"train": 2, "validation": 0, "test": 0}


def test_classes_in_numeric_topic_order():
    labels = ["10.2", "9.1", "10.10"] * 3
    parts = ["train"] * 3 + ["validation"] * 3 + ["test"] * 3
    assert kept_classes(labels, parts, 1) == ["9.1", "10.2", "10.10"]
    assert topic_sort_key("10.10") > topic_sort_key("10.2")


def test_flagged_keep_and_drop():
    level1 = ["1", "1", "1", "2", "3"]
    patients = ["a", "b", "c", "d", "e"]
    assert flagged_mask(level1, patients, {"1"}, "keep", 2.0, 0).tolist() == [True] * 5
    assert flagged_mask(level1, patients, {"1"}, "drop", 2.0, 0).tolist() == [False, False, False, True, True]


def test_flagged_subsample_caps_at_ratio_times_mean_unflagged_count():
    # Unflagged topics "2" (4 images) and "3" (2 images): mean 3; ratio 2 -> cap 6 of topic "1"'s 20.
    level1 = ["1"] * 20 + ["2"] * 4 + ["3"] * 2
    patients = [f"p{i}" for i in range(20)] + ["q"] * 4 + ["r", "s"]
    keep = flagged_mask(level1, patients, {"1"}, "subsample", 2.0, seed=4)
    assert keep[:20].sum() == 6
    assert keep[20:].all()


def test_flagged_subsample_takes_whole_patients():
    # Topic "1": 5 patients of 2 images; cap floor(1.5 * 3) = 4 -> two whole patients.
    level1 = ["1"] * 10 + ["2"] * 3
    patients = [f"p{i // 2}" for i in range(10)] + ["q", "r", "s"]
    keep = flagged_mask(level1, patients, {"1"}, "subsample", 1.5, seed=0)
    assert keep[:10].sum() == 4
    for i in range(0, 10, 2):
        assert keep[i] == keep[i + 1]


def test_flagged_unknown_mode():
    with pytest.raises(ValueError, match="keep, drop or subsample"):
        flagged_mask(["1"], ["a"], {"1"}, "halve", 2.0, 0)

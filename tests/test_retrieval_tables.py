"""build_targets on a hand-made workspace: every key image's pairs, split and counts."""

import pytest

from pacsmine.retrieval.synthetic import write_retrieval_workspace
from pacsmine.retrieval.tables import build_targets
from pacsmine.workspace import Workspace

CFG = {"drop_negated": True, "drop_uncertain": False, "single": "self"}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("retr") / "ws")
    return ws, write_retrieval_workspace(ws, n_patients=10)


def test_each_image_gets_its_topics_pair_and_split(made):
    ws, info = made
    table, counts, truth = build_targets(ws, CFG)
    rows = table.to_pylist()
    labels = {r["image_id"]: r["level1"] for r in info["labels"]}
    # sentence "d<t>a, d<t>b, no d<t+1>a": one pair per image, the negated term left out
    assert len(rows) == len(labels) == 20
    for r in rows:
        t = labels[r["image_id"]]
        assert (r["first_token"], r["second_token"], r["first_code"], r["second_code"]) == \
            (f"d{t}a", f"d{t}b", f"D{t}A", f"D{t}B")
        assert truth[r["image_id"]] == [f"d{t}a", f"d{t}b"]
    # patients P0000..P0009: 0 and 5 test, 1 validation, two images each
    splits = [r["split"] for r in rows]
    assert (splits.count("test"), splits.count("validation"), splits.count("train")) == (4, 2, 14)
    # keeping negated mentions (the paper) gives two pairs per image: negation removed one each
    assert counts["targets"] == 20 and counts["targets_keeping_negated"] == 40
    assert counts["removed_by_negation"] == 20
    assert counts["negated_mentions"] == 20 and counts["mentions"] == 60
    assert counts["self_pairs"] == 0 and counts["images_without_split"] == 0

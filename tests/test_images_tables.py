"""Table 3 and the transfer table from hand-made predictions."""

import pytest

from pacsmine.images.tables import accuracy_of, table3, table3_markdown, transfer_markdown


def row(split, topic, predicted, arch="alexnet", level="level1"):
    return {"image_id": "x", "arch": arch, "level": level, "split": split, "topic": topic, "predicted": predicted,
            "p": [0.0] * len(predicted)}


def test_accuracy_ignores_images_whose_topic_is_left_out():
    rows = [row("test", "1", ["1", "2"]), row("test", "2", ["1", "2"]), row("test", None, ["1", "2"])]
    assert accuracy_of(rows, 1) == 0.5
    assert accuracy_of(rows, 2) == 1.0
    assert accuracy_of([], 1) == 0.0


def test_table3_by_hand():
    split = {"split": ["train"] * 6 + ["validation"] * 2 + ["test"] * 4,
             "level1": ["1", "1", "1", "2", "2", "3"] + ["1", "2"] + ["2", "2", "3", "4"]}
    classes = {"level1": ["1", "2", "3"]}
    predictions = [row("validation", "1", ["1", "2", "3"]), row("validation", "2", ["1", "2", "3"]),
                   row("test", "2", ["2", "1", "3"]), row("test", "2", ["1", "3", "2"]),
                   row("test", "3", ["3", "1", "2"]), row("test", None, ["1", "2", "3"])]
    table = table3(predictions, split, classes, [1, 2])
    entry = table["level1"]
    assert entry["classes"] == 3
    # "4" is not a class: the test part counts 3 labelled images.
    assert entry["images"] == {"train": 6, "validation": 2, "test": 3}
    # Train's most frequent: "1" (3), then "2" (2). Validation [1, 2]; test [2, 2, 3].
    assert entry["baseline"]["validation"] == {"top1": 0.5, "top2": 1.0}
    assert entry["baseline"]["test"] == {"top1": 0.0, "top2": pytest.approx(2 / 3)}
    scores = entry["architectures"]["alexnet"]
    assert scores["validation"] == {"top1": 0.5, "top2": 1.0}
    assert scores["test"] == {"top1": pytest.approx(2 / 3), "top2": pytest.approx(2 / 3)}
    text = table3_markdown(table, [1, 2], "Table 3")
    assert "| level1 | alexnet | 3 | 6 / 2 / 3 | 50.0 | 100.0 | 66.7 | 66.7 |" in text
    assert "| level1 | majority baseline | 3 | 6 / 2 / 3 | 50.0 | 100.0 | 0.0 | 66.7 |" in text


def test_transfer_markdown_rows():
    scores = {"validation": {"top1": 0.5, "top5": 0.9}, "test": {"top1": 0.25, "top5": 0.75}}
    result = {"arch": "efficientnet_lite0", "level": "level1", "epochs": 3, "crop": 48, "train_images": 100,
              "imagenet": dict(scores, best_epoch=3), "scratch": dict(scores, best_epoch=2), "baseline": scores}
    text = transfer_markdown(result, [1, 5])
    assert "| imagenet | 3 | 50.0 | 90.0 | 25.0 | 75.0 |" in text
    assert "| scratch | 2 | 50.0 | 90.0 | 25.0 | 75.0 |" in text

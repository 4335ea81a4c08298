"""evaluate_images on hand-made artefacts: Table 3 entries, and how often a predicted level-1
topic carries the true region / finding (phantom) or location category (labels.csv)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.images.evaluate import carry_scores, evaluate_images
from pacsmine.workspace import Workspace

# image: (split, level-1 topic, accession, region, findings, location category)
IMAGES = {
    "t1": ("train", "a", "A1", "chest", ["effusion"], "Chest"),
    "t2": ("train", "a", "A2", "chest", ["effusion", "mass"], "Chest"),
    "t3": ("train", "b", "A3", "abdomen", ["mass"], "Abdomen"),
    "t4": ("train", "b", "A4", "head", [], "Head"),
    "s1": ("test", "a", "A5", "chest", ["effusion"], "Chest"),
    "s2": ("test", "b", "A6", "abdomen", [], "Abdomen"),
    "s3": ("test", "a", "A7", "abdomen", ["mass"], "Abdomen"),
}
PREDICTED = {"s1": "a", "s2": "a", "s3": "b"}


def split_columns():
    ids = list(IMAGES)
    return {"image_id": ids, "patient_id": ids, "split": [IMAGES[i][0] for i in ids],
            "level1": [IMAGES[i][1] for i in ids], "level2": [None] * len(ids), "level3": [None] * len(ids)}


def predictions():
    return [{"image_id": i, "arch": "alexnet", "level": "level1", "split": "test", "topic": IMAGES[i][1],
             "predicted": [p, "b" if p == "a" else "a"], "p": [0.6, 0.4]} for i, p in PREDICTED.items()]


def test_region_carry_by_hand():
    regions = {i: v[3] for i, v in IMAGES.items()}
    scores = carry_scores(split_columns(), predictions(), regions)
    # Topic a -> chest (2 of 2), b -> abdomen (tie with head: alphabetical). Predicted: s1 hit, s2 miss,
    # s3 hit. True topic: s1 hit, s2 hit, s3 miss. Baseline (chest): s1 only.
    assert scores == {"alexnet": pytest.approx(2 / 3), "true_topic": pytest.approx(2 / 3),
                      "baseline": pytest.approx(1 / 3), "images": 3, "majority": {"a": "chest", "b": "abdomen"}}


def test_finding_carry_leaves_out_images_without_findings():
    findings = {i: v[4] for i, v in IMAGES.items() if v[4]}
    scores = carry_scores(split_columns(), predictions(), findings)
    # a -> effusion (2), b -> mass (1). s2 has none: left out. s1 (a) hit, s3 (b) hit; true topic
    # s3 = a -> effusion: miss. Baseline: effusion and mass tie at 2 -> effusion: s1 only.
    assert scores == {"alexnet": 1.0, "true_topic": 0.5, "baseline": 0.5, "images": 2,
                      "majority": {"a": "effusion", "b": "mass"}}


def write_workspace(root, export):
    ws = Workspace(root)
    ids = list(IMAGES)

    def ingest(ctx):
        ctx.write_parquet("images.parquet", pa.table({
            "image_id": ids, "accession": [IMAGES[i][2] for i in ids],
            "source": [f"images/{i}.dcm" for i in ids]}))
        return {}

    def topics(ctx):
        ctx.write_json("done.json", {})
        return {}

    def images(ctx):
        ctx.write_parquet("dataset/split.parquet", pa.table(split_columns()))
        ctx.write_parquet("evaluation/predictions.parquet", pa.Table.from_pylist(predictions()))
        entry = {"classes": 2, "images": {"train": 4, "validation": 0, "test": 3},
                 "baseline": {"validation": {"top1": 0.0, "top5": 0.0}, "test": {"top1": 0.5, "top5": 1.0}},
                 "architectures": {"alexnet": {"validation": {"top1": 0.0, "top5": 0.0},
                                               "test": {"top1": 0.25, "top5": 1.0}}}}
        ctx.write_json("evaluation/table3.json", {"level1": entry})
        return {}

    ws.run_stage("ingest", {}, {}, ingest, extra_manifest={"export": str(export)})
    ws.run_stage("topics", {}, {}, topics)
    ws.run_stage("images", {}, {}, images)
    return ws


def test_evaluate_images_on_a_phantom(tmp_path):
    truth = tmp_path / "export" / "truth"
    truth.mkdir(parents=True)
    pq.write_table(pa.table({"path": [f"images/{i}.dcm" for i in IMAGES],
                             "findings": pa.array([v[4] for v in IMAGES.values()], pa.list_(pa.string()))}),
                   truth / "images.parquet")
    pq.write_table(pa.table({"accession": [v[2] for v in IMAGES.values()], "region": [v[3] for v in IMAGES.values()]}),
                   truth / "reports.parquet")
    ws = write_workspace(tmp_path / "ws", tmp_path / "export")
    out = evaluate_images(ws, truth)
    assert set(out) == {"classes", "test", "baseline", "region", "finding"}
    assert out["test"] == {"level1": {"alexnet": {"top1": 0.25, "top5": 1.0}}}
    assert out["baseline"] == {"level1": {"top1": 0.5, "top5": 1.0}}
    assert out["classes"] == {"level1": 2}
    assert out["region"]["alexnet"] == pytest.approx(2 / 3)
    assert out["finding"]["images"] == 2
    json.dumps(out)


def test_evaluate_images_with_labels_csv(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    lines = ["path,accession,location_category"] + [f"images/{i}.dcm,{v[2]},{v[5]}" for i, v in IMAGES.items()]
    (export / "labels.csv").write_text("\n".join(lines) + "\n")
    ws = write_workspace(tmp_path / "ws", export)
    out = evaluate_images(ws, None)
    # As the region case: a -> Chest, b -> Abdomen (tie with Head).
    assert out["location_category"]["alexnet"] == pytest.approx(2 / 3)
    assert out["location_category"]["baseline"] == pytest.approx(1 / 3)
    assert out["location_category"]["categories"] == {"Chest": 3, "Abdomen": 3, "Head": 1}
    assert "region" not in out

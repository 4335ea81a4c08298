"""The images stage end to end on a tiny labelled workspace (pacsmine.images.synthetic)."""

import json

import pyarrow.parquet as pq
import pytest

from pacsmine.config import load_config
from pacsmine.images import run_images
from pacsmine.images.synthetic import write_labelled_workspace
from pacsmine.workspace import Workspace

TINY = ["images.architectures=[\"alexnet\"]", "images.pretrained=[]", "images.threads=1",
        "images.networks.alexnet.width=0.125", "images.dataset.resize=36", "images.train.crop=32",
        "images.train.epochs=1", "images.train.batch_size=16", "images.transfer.run=false"]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    made = write_labelled_workspace(ws, n_patients=60, images_per_patient=2, n_topics=3, seed=1)
    config = load_config(overrides=TINY)
    result = run_images(ws, config)
    return ws, config, made, result


def test_every_artefact_is_written_and_listed(staged):
    ws, _, _, result = staged
    assert result.ran
    outputs = ws.manifest("images")["outputs"]
    expected = ["dataset/split.parquet", "dataset/classes.json", "dataset/rejects.parquet",
                "evaluation/predictions.parquet", "evaluation/table3.json", "evaluation/table3.md"]
    for level in ("level1", "level2", "level3"):
        expected += [f"models/alexnet/{level}/model.safetensors", f"models/alexnet/{level}/model.json",
                     f"evaluation/confusion/alexnet_{level}.png"]
    for rel in expected:
        assert (ws.root / "images" / rel).is_file(), rel
        assert rel in outputs, rel
    assert not list((ws.root / "images").glob(".partial-*"))


def test_split_table_groups_patients(staged):
    ws, _, made, _ = staged
    split = pq.read_table(ws.root / "images/dataset/split.parquet")
    assert split.column_names == ["image_id", "patient_id", "split", "level1", "level2", "level3"]
    rows = split.to_pylist()
    assert len(rows) == 120  # 120 good images; the three rejects are not in it
    sides = {}
    for r in rows:
        sides.setdefault(r["patient_id"], set()).add(r["split"])
        assert r["patient_id"] == made["patients"][r["image_id"]]
    assert all(len(s) == 1 for s in sides.values())
    # 40 images per level-1 topic, patients of 2: targets 34 / 2 / 4 per topic.
    for topic in ("0", "1", "2"):
        parts = [r["split"] for r in rows if r["level1"] == topic]
        assert (parts.count("train"), parts.count("validation"), parts.count("test")) == (34, 2, 4)


def test_rejects_have_reasons(staged):
    ws, _, _, _ = staged
    rejects = pq.read_table(ws.root / "images/dataset/rejects.parquet").to_pylist()
    assert sorted((r["image_id"], r["reason"]) for r in rejects) == [
        ("X0001/1/1", "no_image_row"), ("broken/1/1", "unreadable_png"), ("missing/1/1", "missing_png")]


def test_classes_json(staged):
    ws, _, _, _ = staged
    classes = json.loads((ws.root / "images/dataset/classes.json").read_text())
    assert classes["level1"]["classes"] == {"0": 0, "1": 1, "2": 2}
    assert classes["level1"]["counts"]["0"] == {"train": 34, "validation": 2, "test": 4}
    assert "at least 1 image(s) in each of train, validation and test" in classes["rule"]
    assert classes["flagged"] == {"mode": "keep", "topics": [], "images_left_out": 0}
    # Level 2: "t.0" / "t.1" per topic, one image of each per patient: 6 classes if each reaches every part.
    assert set(classes["level2"]["classes"]) | set(classes["level2"]["left_out"]) == \
        {f"{t}.{j}" for t in "012" for j in "01"}


def test_level_models_chain_and_table3(staged):
    ws, _, _, result = staged
    l2 = json.loads((ws.root / "images/models/alexnet/level2/model.json").read_text())
    l3 = json.loads((ws.root / "images/models/alexnet/level3/model.json").read_text())
    assert l2["parent_level"] == "level1" and l3["parent_level"] == "level2"
    table = json.loads((ws.root / "images/evaluation/table3.json").read_text())
    assert set(table) == {"level1", "level2", "level3"}
    assert set(table["level1"]["architectures"]) == {"alexnet"}
    assert set(table["level1"]["baseline"]["test"]) == {"top1", "top5"}


def test_rerun_is_up_to_date(staged):
    ws, config, _, _ = staged
    assert not run_images(ws, config).ran


def test_interrupted_stage_reuses_finished_models(tmp_path, monkeypatch):
    from pacsmine.images.classifier import TopicClassifier

    ws = Workspace(tmp_path)
    write_labelled_workspace(ws, n_patients=60, images_per_patient=1, n_topics=3, seed=2)
    config = load_config(overrides=TINY + [
                                           "images.train.levels=[\"level1\", \"level2\"]"])
    fitted = []
    real_fit = TopicClassifier.fit

    def fit(self, *args, **kwargs):
        fitted.append(self.level)
        if self.level == "level2" and len(fitted) == 2:
            raise KeyboardInterrupt
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(TopicClassifier, "fit", fit)
    with pytest.raises(KeyboardInterrupt):
        run_images(ws, config)
    assert not ws.has("images")
    run_images(ws, config)
    assert fitted == ["level1", "level2", "level2"]  # level 1 was not trained again
    assert ws.has("images")


def test_transfer_comparison_trains_imagenet_and_scratch(tmp_path):
    ws = Workspace(tmp_path)
    write_labelled_workspace(ws, n_patients=60, images_per_patient=1, n_topics=3, seed=3)
    config = load_config(overrides=TINY + ["images.train.epochs=1", "images.train.levels=[\"level1\"]",
                                           "images.transfer.run=true"])
    result = run_images(ws, config)
    root = ws.root / "images"
    for name in ("efficientnet_lite0-imagenet", "efficientnet_lite0-scratch"):
        meta = json.loads((root / f"models/{name}/level1/model.json").read_text())
        assert meta["pretrained"] == name.endswith("imagenet") and meta["epochs"] == 1
    transfer = json.loads((root / "evaluation/transfer.json").read_text())
    assert transfer["arch"] == "efficientnet_lite0" and transfer["epochs"] == 1
    assert set(transfer["imagenet"]["test"]) == {"top1", "top5"}
    assert "| scratch |" in (root / "evaluation/transfer.md").read_text()
    assert result.metrics["transfer"]["scratch"] == {k: transfer["scratch"][k] for k in ("validation", "test", "best_epoch")}


def test_train_command_errors_are_one_line(tmp_path):
    import subprocess
    import sys

    def train(*args):
        return subprocess.run([sys.executable, "-m", "pacsmine.cli", "train", "--workspace", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=120)

    missing = train()
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"pacsmine: stage 'ingest' has not run in {tmp_path.resolve()}: run `pacsmine ingest` first"]
    write_labelled_workspace(Workspace(tmp_path), n_patients=6, images_per_patient=1)
    bad = train("--set", 'images.architectures=["resnet"]')
    assert bad.returncode == 2 and "unknown architecture 'resnet'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

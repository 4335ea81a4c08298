"""The whole chain on a small phantom: run, evaluate, skip when up to date, rerun what changed."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pacsmine.cli import app
from pacsmine.config import load_config
from pacsmine.evaluate import run_evaluate
from pacsmine.phantom import generate
from pacsmine import pipeline
from pacsmine.pipeline import run_pipeline
from pacsmine.workspace import Workspace

# Small grids and few sweeps: the point here is the chain, not the topic quality.
SMALL = [
    "run.workers=1",
    "topics.workers=1",
    "topics.level1.k_grid=[2, 4]", "topics.level1.docs_per_topic=10",
    "topics.level1.selection_iterations=30", "topics.level1.iterations=40",
    "topics.level2.min_docs=40", "topics.level2.k_grid=[2, 3]", "topics.level2.docs_per_topic=10",
    "topics.level2.selection_iterations=20", "topics.level2.iterations=20",
    "topics.level3.k_grid=[2, 4]", "topics.level3.docs_per_topic=5",
    "topics.level3.selection_iterations=20", "topics.level3.iterations=20",
    "topics.cards.levels=[\"level1\"]", "topics.cards.montage=4",
    "extract.terms.obsolete=true",
    "vectors.vector_size=16", "vectors.epochs=2", "vectors.min_trained_words=0",
    # The images stage at its smallest: a narrow AlexNet-style net, 32 px, one epoch.
    'images.architectures=["alexnet"]', "images.pretrained=[]", "images.networks.alexnet.width=0.125",
    "images.dataset.resize=36", "images.train.crop=32", "images.train.epochs=1", "images.transfer.run=false",
    # The retrieval stage at its smallest: the images stage's net, one epoch.
    'retrieval.arch="alexnet"', "retrieval.regression.epochs=1", "retrieval.contrastive.epochs=1",
    "retrieval.contrastive.embed_dim=16", "retrieval.contrastive.hidden=16",
]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    generate(out, reports=160, seed=11, config=load_config()["phantom"], images=True)
    return out


@pytest.fixture(scope="module")
def mined(export, tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    config = load_config(overrides=SMALL)
    results = run_pipeline(export, ws, config)
    return ws, config, results


def test_every_stage_runs_and_finishes(mined):
    ws, config, results = mined
    assert [r.name for r in results] == config["run"]["stages"] == ["ingest", "extract", "topics", "vectors", "images", "retrieval"]
    assert all(r.ran for r in results)
    for stage in ("ingest", "extract", "topics", "vectors", "images", "retrieval"):
        manifest = ws.manifest(stage)
        assert manifest is not None and manifest["counts"] is not None
    # the chain passes identities through: every key image is an ingested image
    images = set(pq.read_table(ws.root / "ingest/images.parquet").column("image_id").to_pylist())
    keys = pq.read_table(ws.root / "extract/key_images.parquet").column("image_id").to_pylist()
    labelled = pq.read_table(ws.root / "topics/key_image_labels.parquet").column("image_id").to_pylist()
    assert keys and set(keys) <= images
    assert set(labelled) == set(keys)


def test_evaluate_scores_every_stage_against_the_truth(mined, export):
    ws, config, _ = mined
    result = run_evaluate(ws, config)
    assert result["truth"] == str(export / "truth")
    for stage in ("ingest", "extract", "topics", "vectors", "images", "retrieval"):
        assert stage in result and "error" not in result[stage], result.get(stage)
    assert result["ingest"]["images"]["good_recall"] == 1.0
    assert result["ingest"]["images"]["corrupt_rejected"] == 1.0
    assert result["extract"]["references"]["linked"]["recall"] > 0.95
    assert result["extract"]["negation"]["negation"]["f1"] > 0.9
    assert 0.0 <= result["topics"]["nmi"] <= 1.0
    assert json.loads((ws.root / "evaluation.json").read_text()) == result


def test_the_demo_predicts_test_key_images_from_their_dicom_files(mined, export):
    ws, config, _ = mined
    with pipeline.console.capture() as captured:
        pipeline._demo_predict(ws, export, config, 2)
    out = captured.get()
    split = pq.read_table(ws.root / "images/dataset/split.parquet").to_pylist()
    tested = [r["image_id"] for r in split if r["split"] == "test"][:2]
    sources = {r["image_id"]: r["source"] for r in pq.read_table(ws.root / "ingest/images.parquet").to_pylist()}
    for image_id in tested:
        assert sources[image_id] in out
    assert out.count("level1: topic") == len(tested) and out.count("keywords:") == len(tested)
    assert "error" not in out and f"predict: {len(tested)} images in" in out


def test_rerun_skips_and_a_config_change_reruns_downstream(mined, export):
    ws, config, first = mined
    again = run_pipeline(export, ws, config)
    assert [r.ran for r in again] == [False] * 6
    assert [r.fingerprint for r in again] == [r.fingerprint for r in first]

    changed = load_config(overrides=[*SMALL, "extract.vocabulary.min_doc_freq=2"])
    third = run_pipeline(export, ws, changed)
    assert [r.ran for r in third] == [False] + [True] * 5


def test_cli_run_and_evaluate_json(export, tmp_path):
    runner = CliRunner()
    ws = tmp_path / "ws"
    sets = [arg for item in SMALL for arg in ("--set", item)]
    result = runner.invoke(app, ["run", str(export), "--workspace", str(ws), *sets])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", "--workspace", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert {"ingest", "extract", "topics", "vectors"} <= set(scores)


def test_demo_evaluates_the_easy_and_the_hard_phantom(tmp_path, monkeypatch):
    """`pacsmine demo` on a small size, text stages only: two exports, each evaluation says its phantom."""
    from pacsmine.evaluate import print_side_by_side
    from pacsmine.pipeline import run_demo

    monkeypatch.chdir(tmp_path)
    config = load_config(overrides=[*SMALL, 'run.stages=["ingest", "extract"]'])
    evaluations = run_demo(config, reports=40)
    assert set(evaluations) == {"easy", "hard"}
    easy, hard = evaluations["easy"], evaluations["hard"]
    assert easy["phantom"] == "easy" and hard["phantom"] == "hard"
    assert json.loads((tmp_path / "demo-export-hard" / "export.json").read_text())["difficulty"] == "hard"
    assert (tmp_path / "demo-export" / "images").is_dir() and not (tmp_path / "demo-export-hard" / "images").exists()
    # the easy phantom: references linked; the hard one is text only, so linking is not scored
    assert easy["extract"]["references"]["linked"]["recall"] == 1.0
    assert "linked" not in hard["extract"]["references"]
    # scores by phenomenon: the hard phantom has phenomena the easy one never writes
    assert set(easy["extract"]["negation"]["by_phenomenon"]) <= {"finding", "hedge", "negation", "history", "impression",
                                                                 "symptom", "description", "normal", "filler"}
    assert {"mixed", "negation_wording", "normal_statement"} <= set(hard["extract"]["negation"]["by_phenomenon"])
    assert json.loads((tmp_path / "demo-workspace-hard" / "evaluation.json").read_text()) == hard
    print_side_by_side({"easy phantom": easy, "hard phantom": hard})
    # a second demo finds both phantoms current
    again = run_demo(config, reports=40)
    assert again["hard"]["extract"] == hard["extract"]


def test_run_holds_the_workspace_lock_across_stages(tmp_path, monkeypatch):
    import pacsmine.pipeline as pipeline
    from pacsmine.workspace import _HELD, Workspace

    ws = Workspace(tmp_path / "ws")
    seen = []
    monkeypatch.setitem(pipeline.STAGES, "a", "pacsmine.pipeline:_runner")
    monkeypatch.setattr(pipeline, "_runner", lambda stage: lambda *a, **k: seen.append(ws.root in _HELD))
    pipeline.run_pipeline(tmp_path, ws, {"run": {"stages": ["ingest", "a"]}})
    assert seen == [True, True] and ws.root not in _HELD

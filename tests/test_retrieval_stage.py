"""The retrieval stage end to end on a hand-made workspace (tiny networks, one epoch each)."""

import json

import pyarrow.parquet as pq
import pytest
import torch

from pacsmine.config import load_config
from pacsmine.retrieval import evaluate_retrieval, run_retrieval
from pacsmine.retrieval.synthetic import write_retrieval_workspace
from pacsmine.workspace import Workspace

SMALL = ['retrieval.arch="alexnet"', "retrieval.device=cpu", "retrieval.regression.epochs=1",
         "retrieval.regression.batch_size=8", "retrieval.contrastive.epochs=1", "retrieval.contrastive.batch_size=8",
         "retrieval.contrastive.embed_dim=8", "retrieval.contrastive.hidden=8", "retrieval.index.exact_below=0",
         "retrieval.index.hnsw_m=8"]


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    ws = Workspace(tmp_path_factory.mktemp("retrieval") / "ws")
    made = write_retrieval_workspace(ws, n_patients=20, classifier=True)
    config = load_config(overrides=SMALL)
    result = run_retrieval(ws, config)
    yield ws, made, config, result
    torch.set_num_threads(before)


def test_targets_models_index_and_tables_are_written(done):
    ws, made, _, result = done
    assert result.ran
    root = ws.stage_dir("retrieval")
    targets = pq.read_table(root / "targets.parquet").to_pylist()
    topic = {r["image_id"]: r["level1"] for r in made["labels"]}
    assert len(targets) == 40  # one pair per image: "d<t>a, d<t>b" (the negated third term left out)
    assert all((r["first_token"], r["second_token"]) == (f"d{topic[r['image_id']]}a", f"d{topic[r['image_id']]}b")
               for r in targets)
    for name in ("regression-sigmoid_cross_entropy", "regression-cosine", "contrastive"):
        assert (root / "models" / name / "model.safetensors").is_file()
    # exact_below = 0: the archive's 40 images go into a faiss index, in faiss's format
    import faiss
    assert faiss.read_index(str(root / "index.faiss")).ntotal == 40
    assert pq.read_table(root / "index.parquet").num_rows == 40
    manifest = ws.manifest("retrieval")
    assert "index.faiss" in manifest["outputs"] and "keywords.parquet" in manifest["outputs"]
    assert (root / "evaluation/examples.png").stat().st_size > 0


def test_keywords_come_from_the_predicted_topics_candidates(done):
    ws, made, _, _ = done
    rows = pq.read_table(ws.stage_dir("retrieval") / "keywords.parquet").to_pylist()
    test = {r["image_id"] for r in pq.read_table(ws.stage_dir("images") / "dataset/split.parquet").to_pylist()
            if r["split"] == "test"}
    assert len(rows) == 2 * len(test) == 16
    for r in rows:
        t = r["topics"][0]
        # level 1's candidates: the topic's term tokens (not "lesion": terms only); level 2 likewise;
        # level 3: d0a, d1b, d2a
        assert r["keywords"][0] in {f"d{t}a", f"d{t}b"}
        assert r["keywords"][1] in {f"d{t}a", f"d{t}b"}
        assert r["keywords"][2] in {"d0a", "d1b", "d2a"}
        assert r["truth"] == [f"d{t}a", f"d{t}b"]
        # the baseline: the words of the topic's training images (both, tied, alphabetical)
        assert r["baseline"] == [f"d{t}a", f"d{t}b"]
        assert set(r["ranked"]) == {f"d{t}a", f"d{t}b", "d0a", "d1b", "d2a"}


def test_evaluation_and_rerun(done):
    ws, _, config, _ = done
    report = json.loads((ws.stage_dir("retrieval") / "evaluation/retrieval.json").read_text())
    # the baseline ranks both true words first: R@1 hit 1, recall 1/2; R@3 recall 1
    base = report["keywords"]["baseline"]["k"]
    assert base["1"] == {"hit": 1.0, "recall": 0.5} and base["3"]["recall"] == 1.0
    table = report["retrieval"]
    assert (table["images"], table["sentences"]) == (8, 4) and set(table["methods"]) == {"random", "contrastive", "regression-cosine",
                                                             "regression-sigmoid_cross_entropy"}
    # 4 test patients, each two images cited by one sentence: random image->text R@1 = 1/4 (one
    # right sentence of 4), text->image R@1 = 2/8 (two right images of 8), R@5 = 1 - C(6,5)/C(8,5)
    random = table["methods"]["random"]
    assert random["image_to_text"]["1"] == pytest.approx(1 / 4)
    assert random["text_to_image"]["1"] == pytest.approx(2 / 8)
    assert random["text_to_image"]["5"] == pytest.approx(1 - 6 / 56)
    assert "keywords" in evaluate_retrieval(ws, None)
    assert not run_retrieval(ws, config).ran


def test_bad_settings_are_one_line_errors(tmp_path):
    ws = Workspace(tmp_path / "ws")
    for override, word in (('retrieval.regression.losses=["l1"]', "losses"),
                           ('retrieval.regression.keywords_loss="l1"', "keywords_loss"),
                           ('retrieval.targets.single="twice"', "single")):
        with pytest.raises(ValueError, match=word):
            run_retrieval(ws, load_config(overrides=[*SMALL, override]))

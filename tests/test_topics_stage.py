import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.config import load_config
from pacsmine.topics import evaluate_topics, run_topics
from pacsmine.topics.stage import theta_column, topics_table
from pacsmine.topics.synthetic import write_extract_stage
from pacsmine.workspace import Workspace

SMALL = [
    "topics.workers=1",
    "topics.level1.k_grid=[2, 3, 6]", "topics.level1.docs_per_topic=10",
    "topics.level1.selection_iterations=40", "topics.level1.iterations=60",
    "topics.level2.min_docs=60", "topics.level2.k_grid=[2, 3]", "topics.level2.docs_per_topic=10",
    "topics.level2.selection_iterations=30", "topics.level2.iterations=30",
    "topics.level3.k_grid=[2, 3, 6]", "topics.level3.docs_per_topic=10",
    "topics.level3.selection_iterations=30", "topics.level3.iterations=40",
    "topics.cards.montage=4",
]


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    ws = Workspace(root)
    truth = write_extract_stage(ws, n_reports=180, n_types=3, seed=5, images_per_report=2)
    config = load_config(overrides=SMALL)
    result = run_topics(ws, config)
    return ws, config, truth, result


def test_stage_writes_every_artefact_of_the_contract(mined):
    ws, _, _, result = mined
    assert result.ran and ws.has("topics")
    manifest = ws.manifest("topics")
    for rel in ("level1/model.bin", "level1/selection.json", "level1/selection.png", "level1/topics.parquet",
                "level1/doc_topics.parquet", "level2/topics.parquet", "level2/doc_topics.parquet",
                "level2/selection.json", "level3/model.bin", "level3/topics.parquet", "level3/doc_topics.parquet",
                "key_image_labels.parquet", "cards/cards.json"):
        assert (ws.root / "topics" / rel).exists(), rel
        assert rel in manifest["outputs"]


def test_level1_tables(mined):
    ws, _, _, result = mined
    k = result.metrics["level1"]["chosen_k"]
    topics = pq.read_table(ws.root / "topics/level1/topics.parquet")
    assert topics.column_names == ["topic", "top_words", "doc_count", "image_count", "flagged"]
    assert topics.column("topic").to_pylist() == [str(t) for t in range(k)]
    assert sum(topics.column("doc_count").to_pylist()) == 180
    assert sum(topics.column("image_count").to_pylist()) == 360
    docs = pq.read_table(ws.root / "topics/level1/doc_topics.parquet")
    theta = np.array(docs.column("theta").to_pylist())
    assert theta.shape == (180, k) and np.allclose(theta.sum(axis=1), 1, atol=1e-4)
    assert docs.column("topic").to_pylist() == [str(t) for t in theta.argmax(axis=1)]


def test_level2_ids_are_tied_to_their_parent(mined):
    ws, _, _, _ = mined
    docs1 = pq.read_table(ws.root / "topics/level1/doc_topics.parquet").column("topic").to_pylist()
    docs2 = pq.read_table(ws.root / "topics/level2/doc_topics.parquet")
    assert docs2.column("parent").to_pylist() == docs1
    for parent, topic in zip(docs1, docs2.column("topic").to_pylist()):
        assert topic.split(".")[0] == parent
    selection = json.loads((ws.root / "topics/level2/selection.json").read_text())
    for parent, sel in selection.items():
        assert (ws.root / f"topics/level2/{parent}/model.bin").exists() == sel["split"]
        assert sel["split"] == (sel["n_docs"] >= 60)
    # this corpus has parents on both sides of min_docs
    assert {s["split"] for s in selection.values()} == {True, False}
    metrics = mined[3].metrics["level2"]
    assert metrics["at_grid_edge"] == {p: s["at_grid_edge"] for p, s in selection.items()}


def test_selection_records_the_searched_k_and_whether_the_optimum_sits_at_a_bound(mined):
    ws, _, _, result = mined
    for level in ("level1", "level3"):
        sel = json.loads((ws.root / f"topics/{level}/selection.json").read_text())
        assert set(sel["grid"]) <= set(sel["k"]) and sel["k"] == sorted(sel["k"])
        assert isinstance(sel["at_grid_edge"], bool)
        assert result.metrics[level]["at_grid_edge"] == sel["at_grid_edge"]
        assert result.metrics[level]["k"] == sel["k"] and result.metrics[level]["grid"] == sel["grid"]


def test_key_image_labels_take_levels_1_and_2_from_the_report(mined):
    ws, _, _, _ = mined
    labels = pq.read_table(ws.root / "topics/key_image_labels.parquet").to_pylist()
    assert len(labels) == 360 and len({r["image_id"] for r in labels}) == 360
    doc1 = dict(zip(*pq.read_table(ws.root / "topics/level1/doc_topics.parquet", columns=["accession", "topic"])
                    .to_pydict().values()))
    assert all(r["level1"] == doc1[r["accession"]] for r in labels)
    assert all(r["level3"] is not None for r in labels)


def test_cards_cover_every_topic(mined):
    ws, _, _, _ = mined
    cards = json.loads((ws.root / "topics/cards/cards.json").read_text())
    per_level = {lvl: pq.read_table(ws.root / f"topics/{lvl}/topics.parquet").num_rows for lvl in ("level1", "level2", "level3")}
    for level, n in per_level.items():
        assert sum(c["level"] == level for c in cards) == n
    assert all((ws.root / "topics" / c["png"]).exists() and len(c["sample_images"]) <= 4 for c in cards)


def test_rerun_is_skipped_and_labels_match_the_truth(mined):
    ws, config, truth, _ = mined
    again = run_topics(ws, config)
    assert not again.ran
    truth_dir = ws.root / "truth"
    truth_dir.mkdir(exist_ok=True)
    pq.write_table(pa.table({"accession": list(truth["case_type"]), "case_type": list(truth["case_type"].values())}),
                   truth_dir / "reports.parquet")
    scores = evaluate_topics(ws, truth_dir)
    assert scores["true_case_types"] == 3 and scores["documents_scored"] == 180
    assert scores["nmi"] > 0.8 and scores["purity"] > 0.9
    assert evaluate_topics(ws, None)["truth"] is None


def test_topics_table_flags_a_disproportionate_share_of_images():
    table = topics_table(["0", "1", "2", "3"], [["a"], ["b"], ["c"], ["d"]], ["0", "1", "2", "3"],
                         ["0"] * 14 + ["1", "2"] + [None], flag_share_ratio=3.0)
    # topic 0 holds 14/16 > 3 x 1/4 of the images; the others hold none or 1/16
    assert table.column("flagged").to_pylist() == [True, False, False, False]
    assert table.column("image_count").to_pylist() == [14, 1, 1, 0]


def test_theta_column_of_ragged_rows():
    column = theta_column([np.array([0.5, 0.5]), np.array([1.0]), np.array([0.2, 0.3, 0.5])])
    assert column.type == pa.list_(pa.float32())
    assert [len(x) for x in column.to_pylist()] == [2, 1, 3]


def test_an_interrupted_stage_keeps_its_finished_fits_for_the_next_run(tmp_path, monkeypatch):
    ws = Workspace(tmp_path)
    write_extract_stage(ws, n_reports=80, n_types=2, seed=2, images_per_report=1)
    config = load_config(overrides=SMALL + ["topics.cards.levels=[]"])

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("pacsmine.topics.stage._fit_level2", killed)
    with pytest.raises(KeyboardInterrupt):
        run_topics(ws, config)
    assert not ws.has("topics")
    partial = list((tmp_path / "topics").glob(".partial-*"))
    assert len(partial) == 1 and list((partial[0] / "level1").glob("final_k*.bin"))
    monkeypatch.undo()
    assert run_topics(ws, config).ran and ws.has("topics")
    assert not list((tmp_path / "topics").glob(".partial-*"))

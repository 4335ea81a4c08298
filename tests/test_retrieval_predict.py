"""pacsmine.predict on a hand-made workspace with its retrieval stage run (tiny networks)."""

import json

import pytest
import torch
from typer.testing import CliRunner

import pacsmine
from pacsmine.cli import app
from pacsmine.config import load_config
from pacsmine.retrieval import run_retrieval
from pacsmine.retrieval.synthetic import write_retrieval_workspace
from pacsmine.workspace import Workspace

SMALL = ['retrieval.arch="alexnet"', "retrieval.device=cpu", "retrieval.regression.epochs=1",
         "retrieval.regression.batch_size=8", "retrieval.contrastive.epochs=1", "retrieval.contrastive.batch_size=8",
         "retrieval.contrastive.embed_dim=8", "retrieval.contrastive.hidden=8", "retrieval.index.neighbours=3"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    ws = Workspace(tmp_path_factory.mktemp("predict") / "ws")
    write_retrieval_workspace(ws, n_patients=10, classifier=True)
    run_retrieval(ws, load_config(overrides=SMALL))
    yield ws
    torch.set_num_threads(before)


def test_predict_answers_images_and_reports_a_non_image(ws, tmp_path):
    png = ws.root / "ingest/images/A0003/1_1.png"   # patient 3: topic "0"
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    answers = pacsmine.predict([png, text, tmp_path / "absent.png"], ws, load_config(overrides=SMALL))
    assert [a["image"] for a in answers] == [str(png), str(text), str(tmp_path / "absent.png")]
    first = answers[0]
    assert set(first) >= {"topics", "keywords", "neighbours", "sentences"}
    # only a level-1 classifier exists: its topics 0, 1, 2 with probabilities summing to 1
    level1 = first["topics"]["level1"]
    assert sorted(r["topic"] for r in level1) == ["0", "1", "2"]
    assert sum(r["p"] for r in level1) == pytest.approx(1.0, abs=1e-5)
    best = level1[0]["topic"]
    assert level1[0]["top_words"] == [f"d{best}a", "lesion", f"d{best}b"]
    # level 1's keyword is one of its best topic's disease words (levels 2 and 3 have no classifier)
    assert first["keywords"][0] in {f"d{best}a", f"d{best}b"} and len(first["keywords"]) == 1
    assert len(first["neighbours"]) == 3
    assert all(n["sentence"].startswith("d") for n in first["neighbours"])
    assert "error" in answers[1] and "error" in answers[2]


def test_cli_json_prints_one_object_per_image(ws, tmp_path):
    png = ws.root / "ingest/images/A0003/1_1.png"
    sets = [a for s in SMALL for a in ("--set", s)]
    result = CliRunner().invoke(app, ["predict", str(png), str(tmp_path / "x.jpg"), "--workspace", str(ws.root),
                                      "--json", *sets])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["image"] == str(png) and "keywords" in lines[0]
    assert lines[1] == {"image": str(tmp_path / "x.jpg"), "error": "no such file"}

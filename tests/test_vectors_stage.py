"""The vectors stage on a hand-made extract stage: artefacts, no pickle, skip when up to date,
rerun on a config or extra-corpus change, and the phantom-style evaluation."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.config import load_config
from pacsmine.vectors import evaluate_vectors, load_vectors, run_vectors
from pacsmine.workspace import StageMissing, Workspace

SMALL = ["vectors.vector_size=16", "vectors.epochs=3", "vectors.min_trained_words=0", "vectors.min_count=2",
         "vectors.workers=1",
         "vectors.plot.words=[\"lung\", \"brain\", \"pleural_effusion\", \"absent_word\"]"]
# Two kinds of report; each term with the concept name extract would give it.
CHEST = ["Small left pleural effusions and a pneumothorax in the lung.", "The lung shows pneumonia."]
HEAD = ["A meningioma near the brain with hydrocephalus.", "The brain shows a glioblastoma."]
NAMES = {"pleural effusions": ("Pleural Effusion", "CHEXPERT:pleural_effusion", "chexpert"),
         "pneumothorax": ("pneumothorax", "DOID:1673", "do_2015"),
         "pneumonia": ("pneumonia", "DOID:552", "do_2015"),
         "meningioma": ("meningioma", "DOID:3565", "do_2015"),
         "hydrocephalus": ("hydrocephalus", "DOID:10908", "do_2015"),
         "glioblastoma": ("glioblastoma multiforme", "DOID:3068", "do_2015")}
N_REPORTS = 40


def write_extract(ws: Workspace) -> None:
    sentences, terms = [], []
    for r in range(N_REPORTS):
        accession = f"R{r:03d}"
        for i, text in enumerate(CHEST if r % 2 == 0 else HEAD):
            sentences.append((accession, i, text))
            for surface, (name, code, source) in NAMES.items():
                start = text.find(surface)
                if start >= 0:
                    terms.append((accession, i, start, start + len(surface), surface, source, code, name, "present"))

    def body(ctx):
        ctx.write_parquet("sentences.parquet", pa.table({
            "accession": [s[0] for s in sentences], "sentence_index": pa.array([s[1] for s in sentences], pa.int32()),
            "text": [s[2] for s in sentences]}))
        names = ["accession", "sentence_index", "start", "end", "text", "source", "code", "name", "status"]
        ctx.write_parquet("terms.parquet", pa.table({n: [t[i] for t in terms] for i, n in enumerate(names)}))
        return {}

    ws.run_stage("extract", {"hand_made": True}, {}, body)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    write_extract(ws)
    config = load_config(overrides=SMALL)
    return ws, config, run_vectors(ws, config)


def test_writes_every_artefact_and_no_pickle(trained):
    ws, _, result = trained
    assert result.ran and ws.has("vectors")
    folder = ws.root / "vectors"
    for rel in ("vectors.safetensors", "vocabulary.parquet", "terms.parquet", "vectors.bin", "pca.png", "metrics.json"):
        assert (folder / rel).exists() and rel in ws.manifest("vectors")["outputs"], rel
    assert not [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pickle", ".model", ".npy")]


def test_vocabulary_and_term_tables(trained):
    ws, _, _ = trained
    vocabulary = pq.read_table(ws.root / "vectors/vocabulary.parquet")
    assert vocabulary.column_names == ["word", "count", "index", "is_term", "code", "name"]
    rows = {r["word"]: r for r in vocabulary.to_pylist()}
    assert rows["pleural_effusion"]["is_term"] and rows["pleural_effusion"]["code"] == "CHEXPERT:pleural_effusion"
    assert rows["glioblastoma_multiforme"]["name"] == "glioblastoma multiforme"
    # counted by hand: "lung" twice in each of the 20 chest reports; "brain" likewise in the head reports
    assert rows["lung"]["count"] == 40 and rows["brain"]["count"] == 40 and not rows["lung"]["is_term"]
    assert rows["pneumonia"]["count"] == 20
    assert sorted(r["index"] for r in rows.values()) == list(range(len(rows)))
    terms = pq.read_table(ws.root / "vectors/terms.parquet").to_pylist()
    assert [t["code"] for t in terms] == sorted(c for _, c, _ in NAMES.values())
    by_code = {t["code"]: t for t in terms}
    assert by_code["DOID:3068"]["token"] == "glioblastoma_multiforme" and by_code["DOID:3068"]["mentions"] == 20
    assert by_code["DOID:3068"]["index"] == rows["glioblastoma_multiforme"]["index"]


def test_loads_without_unpickling_and_matches_the_word2vec_file(trained, monkeypatch):
    from gensim.models import KeyedVectors

    ws, _, _ = trained

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    vectors = load_vectors(ws)
    assert vectors.matrix.shape == (len(vectors.words), 16)
    other = KeyedVectors.load_word2vec_format(str(ws.root / "vectors/vectors.bin"), binary=True)
    assert other.index_to_key == vectors.words
    assert np.allclose(other.vectors, vectors.matrix)


def test_metrics_count_the_corpus_and_the_coverage(trained):
    ws, _, result = trained
    metrics = result.metrics
    assert metrics["sentences"] == {"reports": 2 * N_REPORTS}
    # every term is seen 20 times (>= min_count 2)
    assert metrics["coverage"]["all_terms"] == {"concepts": 6, "with_vector": 6, "share": 1.0, "mention_share": 1.0,
                                                "at_min_count": 6, "share_at_min_count": 1.0}
    assert metrics["coverage"]["do_2015"]["concepts"] == 5
    assert metrics["plotted_words"] == ["lung", "brain", "pleural_effusion"]
    assert json.loads((ws.root / "vectors/metrics.json").read_text()) == metrics


def test_up_to_date_skips_and_a_change_reruns(trained, tmp_path):
    ws, config, first = trained
    again = run_vectors(ws, config)
    assert not again.ran and again.fingerprint == first.fingerprint
    changed = run_vectors(ws, load_config(overrides=[*SMALL, "vectors.window=3"]))
    assert changed.ran and changed.fingerprint != first.fingerprint
    # the extra corpus's content is part of the fingerprint
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "a.txt").write_text("Pleural effusions are seen in the lung. The brain is normal.")
    with_extra = load_config(overrides=[*SMALL, "vectors.window=3", f"vectors.extra_corpus=\"{extra}\""])
    one = run_vectors(ws, with_extra)
    assert one.ran and one.metrics["sentences"] == {"reports": 80, "extra": 2}
    # pleural_effusion are seen the lung / the brain normal ("in", "is": under 3 letters)
    assert one.metrics["tokens"]["extra"] == 8
    assert not run_vectors(ws, with_extra).ran
    (extra / "a.txt").write_text("Pleural effusions are seen in the lung. The brain is normal. A third one.")
    assert run_vectors(ws, with_extra).ran


def test_bad_settings_and_missing_input_are_one_line_errors(tmp_path):
    ws = Workspace(tmp_path / "empty")
    with pytest.raises(StageMissing):
        run_vectors(ws, load_config(overrides=SMALL))
    with pytest.raises(ValueError, match="extra_corpus"):
        run_vectors(ws, load_config(overrides=[*SMALL, f"vectors.extra_corpus=\"{tmp_path / 'nope'}\""]))
    with pytest.raises(ValueError, match="word2vec_format"):
        run_vectors(ws, load_config(overrides=[*SMALL, "vectors.word2vec_format=pickle"]))


def test_evaluate_against_a_hand_made_truth(trained, tmp_path):
    ws, _, _ = trained
    truth = tmp_path / "truth"
    truth.mkdir()
    accessions = [f"R{r:03d}" for r in range(N_REPORTS)]
    pq.write_table(pa.table({
        "accession": accessions,
        "region": ["chest" if r % 2 == 0 else "head" for r in range(N_REPORTS)],
        "case_type": ["chest/pneumonia" if r % 2 == 0 else "head/meningioma" for r in range(N_REPORTS)],
        "findings": [["pneumonia", "pneumothorax"] if r % 2 == 0 else ["meningioma", "glioblastoma multiforme"]
                     for r in range(N_REPORTS)]}), truth / "reports.parquet")
    result = evaluate_vectors(ws, truth)
    scores = result["precision_at_k"]["region"]
    assert scores["k"] == 5 and set(result["precision_at_k"]) == {"region", "case_type"}
    # 4 labelled terms (2 chest, 2 head): each term's 1 other same-region term among 3 others
    assert scores["terms"] == 4 and scores["chance"] == pytest.approx(1 / 3)
    # k = 5 > 3 others: every term's neighbours are all 3 others, so precision equals chance here
    assert scores["precision"] == pytest.approx(1 / 3)
    assert result["vocabulary"] == len(load_vectors(ws))
    assert evaluate_vectors(ws, None).keys() == {"vocabulary", "dimensions", "sentences", "tokens", "coverage"}


def test_a_rerun_after_a_failure_reuses_the_tokenised_corpus(tmp_path, monkeypatch):
    import pacsmine.vectors.stage as stage

    ws = Workspace(tmp_path / "ws")
    write_extract(ws)
    config = load_config(overrides=SMALL)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "train_word2vec", killed)
    with pytest.raises(KeyboardInterrupt):
        run_vectors(ws, config)
    assert not ws.has("vectors") and list((ws.root / "vectors").glob(".partial-*/reports.parquet"))
    monkeypatch.undo()

    def tokenised_again(*args, **kwargs):
        raise AssertionError("the corpus was tokenised again")

    monkeypatch.setattr(stage, "report_sentence_tokens", tokenised_again)
    result = run_vectors(ws, config)
    assert result.ran and ws.has("vectors") and not list((ws.root / "vectors").glob(".partial-*"))

"""The phantom export as a whole: layout, determinism, truth consistency and corpus statistics."""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pacsmine.phantom import TRUTH_SCHEMAS, generate
from pacsmine.phantom.catalog import catalog

PHANTOM_SRC = Path(__file__).resolve().parents[1] / "src" / "pacsmine" / "phantom"


def _cfg(**over):
    from pacsmine.config import load_config

    return {**load_config()["phantom"], **over}


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom")
    cfg = _cfg(image_size=128, faulty_reports=3)
    summary = generate(out / "a", reports=80, seed=4, config=cfg, images=True)
    return out / "a", summary, cfg


def test_same_seed_same_bytes(small_export, tmp_path):
    out, summary, cfg = small_export
    again = generate(tmp_path / "b", reports=80, seed=4, config=cfg, images=True)
    assert again == summary
    first, second = _digest(out), _digest(tmp_path / "b")
    assert first == second and any(k.endswith(".dcm") for k in first)
    other = generate(tmp_path / "c", reports=80, seed=5, config=cfg, images=False)
    assert _digest(tmp_path / "c")["reports.csv"] != first["reports.csv"]
    assert other["counts"]["reports"] == 80


def test_export_layout_and_truth_consistency(small_export):
    out, summary, _ = small_export
    rows = _read_csv(out / "reports.csv")
    assert list(rows[0]) == ["accession", "patient_id", "modality", "body_part", "study_date", "text"]
    truth = {name: pq.read_table(out / "truth" / f"{name}.parquet") for name in TRUTH_SCHEMAS}
    for name, table in truth.items():
        assert table.schema.equals(TRUTH_SCHEMAS[name]), name
    # the injected faults are extra rows, listed in export.json, and absent from the truth
    faults = summary["injected_faults"]
    assert [f["kind"] for f in faults] == ["missing_text", "duplicate_accession", "missing_accession"]
    assert len(rows) == 80 + len(faults)
    assert sum(r["text"] == "" for r in rows) == 1 and sum(r["accession"] == "" for r in rows) == 1
    dup = Counter(r["accession"] for r in rows if r["accession"])
    assert [a for a, n in dup.items() if n > 1] == [faults[1]["accession"]]
    reports = truth["reports"].to_pylist()
    assert len(reports) == 80
    text = {}
    for r in rows:  # the first row of an accession is the good one
        text.setdefault(r["accession"], r["text"])
    for ref in truth["references"].to_pylist():
        assert ref["sentence"] in text[ref["accession"]]
    for m in truth["mentions"].to_pylist():
        assert m["sentence"] in text[m["accession"]] and m["term"] in m["sentence"]
    # every cited image exists as a DICOM file; unreferenced images exist too
    images = truth["images"].to_pylist()
    on_disk = {(i["accession"], i["series"], i["instance"]) for i in images}
    for ref in truth["references"].to_pylist():
        assert (ref["accession"], ref["series"], ref["instance"]) in on_disk
    assert all((out / i["path"]).exists() for i in images)
    assert any(not i["referenced"] for i in images)
    assert summary["counts"]["images"] == len(images) == len(list((out / "images").rglob("*.dcm")))
    corrupt = [i for i in images if i["corrupt"]]
    assert len(corrupt) == len(summary["corrupt_images"]) >= 1
    meta = json.loads((out / "export.json").read_text())
    assert (meta["seed"], meta["reports"], meta["generator"]) == (4, 80, "pacsmine.phantom")
    # images sit under images/<patient_id>/<accession>/<series>/<instance>.dcm
    patients = {r["accession"]: r["patient_id"] for r in reports}
    for i in images[:20]:
        assert i["path"] == f"images/{patients[i['accession']]}/{i['accession']}/{i['series']}/{i['instance']}.dcm"


def test_regenerating_replaces_the_previous_images(tmp_path):
    cfg = _cfg(image_size=64)
    generate(tmp_path, reports=40, seed=1, config=cfg, images=True)
    generate(tmp_path, reports=40, seed=2, config=cfg, images=True)
    paths = {i["path"] for i in pq.read_table(tmp_path / "truth" / "images.parquet").to_pylist()}
    on_disk = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / "images").rglob("*.dcm")}
    assert paths == on_disk
    foreign = tmp_path / "foreign"
    (foreign / "images").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        generate(foreign, reports=5, seed=1, config=cfg, images=False)


def test_text_only_export_has_empty_image_truth(tmp_path):
    summary = generate(tmp_path, reports=30, seed=1, config=_cfg(), images=False)
    assert not (tmp_path / "images").exists()
    assert pq.read_table(tmp_path / "truth" / "images.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "truth" / "references.parquet").num_rows == summary["counts"]["references"]


def test_statistics_of_a_5000_report_phantom(tmp_path):
    """The ranges the issue asks for: modalities, lengths, references, metastases, vocabulary."""
    summary = generate(tmp_path, reports=5000, seed=2, config=_cfg(faulty_reports=0), images=False)
    rows = _read_csv(tmp_path / "reports.csv")
    mods = Counter(r["modality"] for r in rows)
    assert 0.74 <= mods["CT"] / 5000 <= 0.82
    assert 0.17 <= mods["MR"] / 5000 <= 0.25
    assert all(mods[m] > 0 for m in ("PT", "CR", "US"))
    lengths = [len(r["text"].split()) for r in rows]
    assert 115 <= statistics.mean(lengths) <= 145
    assert 75 <= statistics.pstdev(lengths) <= 120
    assert max(lengths) > 3 * statistics.mean(lengths)  # a long tail
    refs = pq.read_table(tmp_path / "truth" / "references.parquet").to_pylist()
    citing = {r["accession"] for r in refs}
    assert 0.2 <= len(citing) / 5000 <= 0.6  # many reports cite no image
    assert 0.3 <= len({(r["accession"], r["series"], r["instance"]) for r in refs}) / 5000 <= 0.7
    # about half of the key images show metastatic disease (the paper's topic #77)
    cat = catalog()
    mentions = pq.read_table(tmp_path / "truth" / "mentions.parquet").to_pylist()
    present = {}
    for m in mentions:
        if m["status"] == "present" and m["family"] == "disease":
            present.setdefault((m["accession"], m["sentence"]), []).append(m["concept"])
    metastatic = [any(cat.concepts[c].metastatic for c in present[(r["accession"], r["sentence"])]) for r in refs]
    assert 0.4 <= sum(metastatic) / len(metastatic) <= 0.65
    # every row says its concept's family; the other names come from the phantom's catalog
    assert Counter(m["family"] for m in mentions).keys() == {"disease", "finding", "symptom"}
    bone = next(m for m in mentions if m["concept"] == "bone cancer")
    assert "bone metastasis" in bone["names"]
    assert next(m for m in mentions if m["concept"] == "dyspnea")["names"][0] == "shortness of breath"
    statuses = Counter(m["status"] for m in mentions)
    assert all(statuses[s] > 500 for s in ("present", "absent", "uncertain", "historical"))
    # the vocabulary runs to thousands of words, with a long tail of rare ones
    vocab = Counter(w for r in rows for w in re.findall(r"[a-z]+", r["text"].lower()))
    assert len(vocab) > 3000
    assert sum(1 for n in vocab.values() if n == 1) > 0.2 * len(vocab)
    # case types overlap: no case type owns a third of the corpus, all appear
    cases = Counter(pq.read_table(tmp_path / "truth" / "reports.parquet").column("case_type").to_pylist())
    assert len(cases) == len(cat.case_types) and max(cases.values()) < 5000 / 3
    assert summary["counts"]["patients"] < 5000 * 0.8


def test_phantom_never_imports_the_mining_code():
    for path in PHANTOM_SRC.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [(node.module or "")] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not re.search(r"(^|\.)(ingest|nlp|topics)(\.|$)", name), f"{path.name} imports {name}"

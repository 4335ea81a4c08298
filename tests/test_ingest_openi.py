"""pacsmine.ingest.openi: the OpenI / Indiana University reports (XML and CSV forms)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_file
from pacsmine.ingest.openi import compose_text, iter_openi_csv, iter_openi_xml, parse_ecitation

OPENI_XML = Path(__file__).parent / "data" / "openi"


def test_compose_text_order_and_required():
    sections = {"findings": "Clear lungs.", "indication": "Cough", "comparison": "", "impression": None}
    order = ["INDICATION", "COMPARISON", "FINDINGS", "IMPRESSION"]
    assert compose_text(sections, order, ["FINDINGS", "IMPRESSION"]) == "INDICATION: Cough\nFINDINGS: Clear lungs."
    assert compose_text({"indication": "Cough"}, order, ["FINDINGS", "IMPRESSION"]) is None
    assert compose_text({"indication": "Cough"}, order, []) == "INDICATION: Cough"


def test_parse_ecitation():
    doc = parse_ecitation((OPENI_XML / "1.xml").read_bytes())
    assert doc["uid"] == "1"
    assert doc["sections"]["FINDINGS"].startswith("The cardiac silhouette")
    assert doc["mesh"] == ["normal"]
    assert doc["images"] == ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001"]
    # PubDate is the collection's publication date, not the study's: kept apart.
    assert doc["published"] == "2013-08-01" and "date" not in doc
    with pytest.raises(ValueError):
        parse_ecitation("<html/>")


def test_openi_xml_folder(config):
    rows = list(iter_openi_xml(OPENI_XML, config["ingest"]))
    by_source = {r["source"]: r for r in rows}
    assert sorted(by_source) == ["1.xml", "2.xml", "3.xml", "4.xml"]
    one = by_source["1.xml"]
    assert (one["accession"], one["patient_id"], one["modality"], one["body_part"]) == ("1", "1", "CR", "CHEST")
    # The XML has no study date (only the collection's 2013-08-01 PubDate): null.
    assert {r.get("study_date") for r in rows if "reject" not in r} == {None}
    assert one["text"].split("\n")[0] == "INDICATION: Positive TB test"
    assert [line.split(":")[0] for line in one["text"].split("\n")] == ["INDICATION", "COMPARISON", "FINDINGS", "IMPRESSION"]
    assert by_source["2.xml"]["labels"] == ["Cardiomegaly/borderline", "Pulmonary Artery/enlarged"]
    assert by_source["3.xml"]["text"] is None  # only an indication: no report written
    assert by_source["4.xml"]["reject"][0] == "unreadable_file"  # cut-off XML


def test_openi_csv_real_reports(config):
    path = shared_file("iu_xray/indiana_reports.csv")
    rows = list(iter_openi_csv(path, config["ingest"]))
    assert len(rows) > 3000 and not any("reject" in r for r in rows)
    first = rows[0]
    assert first["accession"] == "1" and first["patient_id"] == "1"
    assert first["text"].startswith("INDICATION: Positive TB test\nCOMPARISON: None.\nFINDINGS: The cardiac")
    assert first["labels"] == ["normal"]
    second = next(r for r in rows if r["accession"] == "2")
    # MeSH terms then the Problems not already there, in order.
    assert second["labels"][:2] == ["Cardiomegaly/borderline", "Pulmonary Artery/enlarged"]
    assert "Cardiomegaly" in second["labels"]
    assert len({r["accession"] for r in rows}) == len(rows)


def test_openi_xml_links_are_confined(tmp_path, config):
    import shutil

    folder = tmp_path / "openi"
    shutil.copytree(OPENI_XML, folder)
    (tmp_path / "elsewhere.xml").write_bytes((OPENI_XML / "1.xml").read_bytes())
    (folder / "5.xml").symlink_to(tmp_path / "elsewhere.xml")
    (folder / "6.xml").symlink_to(folder / "gone.xml")
    (folder / "7.xml").symlink_to(folder / "1.xml")  # inside: read
    rows = {r["source"]: r for r in iter_openi_xml(folder, config["ingest"])}
    assert rows["5.xml"]["reject"][0] == "outside_export"
    assert rows["6.xml"]["reject"][0] == "dangling_symlink"
    assert rows["7.xml"]["accession"] == "1"

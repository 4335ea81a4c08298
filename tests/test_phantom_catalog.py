"""The phantom's data files: consistent with each other, and written in the Disease Ontology's words."""

from __future__ import annotations

import re

import pytest

from pacsmine.phantom.catalog import Pool, catalog, load_data, parse_slots

from conftest import shared_file


def _do_names(path) -> set[str]:
    names = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("name: "):
                names.add(line[6:].strip().lower())
            elif line.startswith('synonym: "'):
                names.add(line.split('"')[1].lower())
    return names


def test_data_files_are_consistent():
    cat = catalog()
    assert cat.check() == []
    assert 25 <= len(cat.case_types) <= 45
    assert set(cat.regions) == {"head", "neck", "chest", "abdomen", "pelvis", "spine", "extremities", "breast"}
    # every region has at least two case types, and metastatic disease appears in several regions
    for region in cat.regions:
        assert sum(c.region == region for c in cat.case_types.values()) >= 2, region
    metastatic_regions = {c.region for c in cat.case_types.values() if cat.concepts[c.main].metastatic}
    assert len(metastatic_regions) >= 5


def test_pool_draws_by_weight():
    pool = Pool(["a", "b"], [3.0, 1.0])
    values = iter([0.0, 0.5, 0.74, 0.76, 0.99])
    assert [pool.draw(lambda: next(values)) for _ in range(5)] == ["a", "a", "a", "b", "b"]
    zipf = Pool(list("abcd"), zipf=True)
    assert zipf.cum[0] == 1.0 and zipf.cum[1] == pytest.approx(1.5)
    with pytest.raises(ValueError):
        Pool([])


def test_style_pools_differ_between_styles():
    cat = catalog()
    items = cat.styles["negation"]["templates"]
    orders = {tuple(cat.style_pool(items, s, 1).items) for s in range(6)}
    assert len(orders) >= 4


def test_concepts_and_surfaces_are_disease_ontology_terms():
    names = _do_names(shared_file("disease_ontology/HumanDO.obo"))
    cat = catalog()
    missing = [c for c in cat.concepts if c.lower() not in names]
    assert missing == [], f"concepts not in the Disease Ontology: {missing}"
    surfaces = [s for c in cat.concepts.values() for s in c.surfaces]
    found = sum(s.lower() in names for s in surfaces)
    assert found / len(surfaces) >= 0.5, f"only {found}/{len(surfaces)} surface forms are DO names or synonyms"
    # each concept has at least one surface the ontology knows, so every mention can be matched
    for concept in cat.concepts.values():
        assert any(s.lower() in names for s in concept.surfaces), concept.name


def test_filler_and_normal_statements_name_no_disease():
    """Only the sentences that record mentions may contain disease names (else the truth misses them)."""
    names = {n for n in _do_names(shared_file("disease_ontology/HumanDO.obo")) if len(n) > 3}
    cat = catalog()
    w = cat.words
    texts = [t for r in cat.regions.values() for t in (*r.normal, *r.symptoms, *(l for ls in r.locations.values() for l in ls))]
    texts += [t for v in w["filler"]["parts"].values() for t in v] + [t for v in w["filler"]["lists"].values() for t in v]
    texts += w["filler"]["templates"] + [p + r for r in w["modifiers"]["roots"] for p in w["modifiers"]["prefixes"]]
    texts += [r + s for r in w["procedures"]["roots"] for s in w["procedures"]["suffixes"]]
    hits = []
    for text in texts:
        tokens = re.findall(r"[a-z0-9'-]+", text.lower())
        recorded = " | ".join(surface.lower() for surface, _, _ in cat.slots.get(text, ()))
        for n in range(1, 6):
            for i in range(len(tokens) - n + 1):
                gram = " ".join(tokens[i : i + n])
                if gram in names and gram not in recorded:  # a slot's surface is recorded in the truth
                    hits.append((gram, text))
    assert hits == []


def test_slots_parse_by_hand():
    assert parse_slots("No [[free air|pneumoperitoneum|absent]] or [[ascites||absent]].") == (
        "No free air or ascites.", (("free air", "pneumoperitoneum", "absent"), ("ascites", "ascites", "absent")))
    assert parse_slots("[[cough]], fever") == ("cough, fever", (("cough", "cough", "present"),))
    assert parse_slots("The {part} is unremarkable.") == ("The {part} is unremarkable.", ())
    with pytest.raises(ValueError, match="status"):
        parse_slots("[[nodule|nodule|maybe]]")
    with pytest.raises(ValueError, match="malformed"):
        parse_slots("an [[open slot")


def test_findings_catalog_names_findings_and_symptoms():
    cat = catalog()
    findings = load_data("findings")["concepts"]
    assert {spec["family"] for spec in findings.values()} == {"finding", "symptom"}
    assert not set(findings) & set(cat.concepts)  # a concept is a disease or a finding, not both
    assert cat.family["headache"] == "symptom" and cat.family["calcification"] == "finding"
    assert cat.family["pneumonia"] == "disease"
    assert "bone metastasis" in cat.names["bone cancer"] and "shortness of breath" in cat.names["dyspnea"]
    # every slot names a catalog concept (check() reports the others)
    assert all(concept in cat.family for slots in cat.slots.values() for _, concept, _ in slots)


# Words that name a finding or symptom in radiology (written for this test, not taken from
# the mining code): wherever the phantom's wording writes one, a slot records it.
FINDING_WORDS = ("calcif", "atelecta", "consolidation", "effusion", "lymphadenopathy", "enlarged node",
                 "enlarged lymph", "nodal enlargement", "pain", "nodule", "mass", "clip", "edema", "hernia",
                 "hiatal", "cough", "fever", "nausea", "vomiting", "headache", "stranding", "free air", "fluid collection",
                 "free fluid", "restricted diffusion", "periosteal", "sclerotic", "lytic",
                 "ground-glass", "shortness of breath", "weight loss", "hematuria", "jaundice", "seizure", "syncope",
                 "dizziness", "swelling", "numbness", "weakness", "dysphagia", "hoarseness", "filling defect",
                 "bone island", "phlebolith", "schmorl")


def test_finding_words_of_the_wording_are_slots():
    cat = catalog()
    w, st = cat.words, cat.styles
    texts = [t for r in cat.regions.values() for t in (*r.normal, *r.symptoms)]
    texts += w["filler"]["templates"] + w["filler"]["lists"]["incidentals"] + [a for v in w["adjectives"].values() for a in v]
    texts += [t for v in st["findings"].values() for t in v] + st["hedge"]["desc"]
    texts += [parse_slots(e["text"]) for e in load_data("cues_hard")["normal"]]
    missed = []
    for text in texts:
        text, slots = text if isinstance(text, tuple) else (text, cat.slots.get(text, ()))
        low = text.lower()
        covered = [(low.find(s.lower()), low.find(s.lower()) + len(s)) for s, _, _ in slots]
        for word in FINDING_WORDS:
            for m in re.finditer(re.escape(word), low):
                if not any(a <= m.start() and m.end() <= b for a, b in covered):
                    missed.append((word, text))
    assert missed == []


def test_contradicts_a_present_finding_or_a_more_specific_one():
    from pacsmine.phantom.catalog import contradicts

    assert contradicts("splenomegaly", {"splenomegaly", "lymphoma"})
    assert contradicts("pleural effusion", {"malignant pleural effusion"})  # a more specific form
    assert not contradicts("pleural effusion", {"pericardial effusion"})
    assert not contradicts("fracture", {"fractures of the rib"}) and contradicts("fracture", {"vertebral compression fracture"})
    assert not contradicts("mass", {"massive hemorrhage"}) and not contradicts("cardiomegaly", set())

"""The phantom's data files: consistent with each other, and written in the Disease Ontology's words."""

from __future__ import annotations

import re

import pytest

from pacsmine.phantom.catalog import Pool, catalog

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
        for n in range(1, 6):
            for i in range(len(tokens) - n + 1):
                if " ".join(tokens[i : i + n]) in names:
                    hits.append((" ".join(tokens[i : i + n]), text))
    assert hits == []

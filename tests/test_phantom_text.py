"""Report text and its truth: every recorded mention and reference is really in the text."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

import pytest

from pacsmine.phantom import iter_reports
from pacsmine.phantom.catalog import catalog
from pacsmine.phantom.text import ReportWriter


@pytest.fixture(scope="module")
def reports(config):
    return list(iter_reports(400, 11, config["phantom"]))


@pytest.fixture(scope="module")
def config():
    from pacsmine.config import load_config

    return load_config()


def test_mentions_are_in_their_sentences_and_sentences_in_the_text(reports):
    for r in reports:
        for sentence, term, concept, status, _phenomenon in r.mentions:
            assert sentence in r.text
            assert term in sentence
            assert concept in catalog().family
            assert status in {"present", "absent", "uncertain", "historical"}
            # recoverable sentence: ends with a period, followed by a space, a newline or the end
            assert sentence.endswith(".")
            end = r.text.index(sentence) + len(sentence)
            assert end == len(r.text) or r.text[end] in " \n"


def test_statuses_follow_the_wording(reports):
    by_status = defaultdict(list)
    for r in reports:
        for sentence, term, concept, status, _phenomenon in r.mentions:
            by_status[status].append(sentence.lower())
    assert all(s.count("history") or s.startswith("prior history") for s in by_status["historical"])
    # absent: a negation, or a normal statement that rules a finding out ("The spleen is normal in size")
    negation_cues = ("no ", "negative for", "not seen", "ruled out", "without", "normal", "unremarkable", "clear",
                     "intact", "patent", "preserved", "maintained", "not enlarged", "not dilated", "well aerated")
    assert all(any(cue in s for cue in negation_cues) for s in by_status["absent"])
    hedge_cues = ("possibly", "may represent", "differential", "cannot exclude", "likely", "questionable",
                  "suspicious", "could represent", "-like")
    assert all(any(cue in s for cue in hedge_cues) for s in by_status["uncertain"])
    # a negated list gives one absent row per disease: some sentences carry several
    counts = Counter((r.accession, m[0]) for r in reports for m in r.mentions if m[3] == "absent")
    assert max(counts.values()) >= 2
    present = {m[2] for r in reports for m in r.mentions if m[3] == "present"}
    for r in reports:  # the report's latent findings are all written as present
        written = {m[2] for m in r.mentions if m[3] == "present"}
        assert set(r.findings) <= written | present


def test_references_are_written_in_their_sentences(reports):
    n_refs = 0
    forms = Counter()
    for r in reports:
        series = dict(r.series)
        for sentence, s, written, instance, _phenomenon in r.references:
            n_refs += 1
            assert sentence in r.text
            assert s in series and 1 <= instance <= series[s]
            numbers = set(re.findall(r"\d+", sentence))
            if written:
                assert str(s) in numbers
            else:
                assert len(r.series) == 1  # "image 45" alone only in a single-series study
            if str(instance) not in numbers:  # an abbreviated range end: "images 1013-16"
                assert re.search(r"\d+-\d+", sentence)
            forms["colon" if re.search(r"\(\w*\s?\d+:\d+\)", sentence) else
                  "se_im" if re.search(r"[Ss]e \d+,? [Ii]m \d+", sentence) else
                  "of_series" if "of series" in sentence else
                  "range" if re.search(r"images? \d+-\d+", sentence) else "other"] += 1
        for (s, i), concepts in r.key_images.items():
            assert concepts and all(c in r.findings for c in concepts)
    assert n_refs > 50
    assert len([f for f, c in forms.items() if c > 0]) >= 4
    per_report = Counter(len({x[0] for x in r.references}) for r in reports)
    assert per_report[0] > len(reports) * 0.3  # many reports cite no image


def test_styles_differ_and_some_reports_have_no_headers(reports):
    with_headers = [r for r in reports if re.search(r"^(FINDINGS|Findings):", r.text, re.M)]
    without = [r for r in reports if not re.search(r"^[A-Z][A-Za-z ]+:$", r.text, re.M)]
    assert with_headers and without
    assert len({r.style for r in reports}) == 6


def test_same_seed_same_reports_other_seed_other(config):
    a = [r.text for r in iter_reports(30, 5, config["phantom"])]
    b = [r.text for r in iter_reports(30, 5, config["phantom"])]
    c = [r.text for r in iter_reports(30, 6, config["phantom"])]
    assert a == b and a != c


def test_patients_hold_several_reports(reports):
    per_patient = Counter(r.patient_id for r in reports)
    assert max(per_patient.values()) >= 2 and len(per_patient) > len(reports) / 3
    assert len({r.accession for r in reports}) == len(reports)


def test_typo_changes_one_word_only():
    rng = random.Random(3)
    sentence = "The visualized osseous structures are unremarkable."
    changed = [ReportWriter._typo(rng, sentence) for _ in range(50)]
    assert any(c != sentence for c in changed)
    for c in changed:
        diff = [a != b for a, b in zip(c.split(" "), sentence.split(" "))]
        assert sum(diff) <= 1 and len(c.split(" ")) == len(sentence.split(" "))


def test_findings_and_symptoms_written_are_in_the_truth(reports):
    """Every occurrence of these phrases (surfaces of findings.toml, chosen by hand) in a text
    has its truth row, with the family of the phantom's finding catalog."""
    phrases = {"headache": "headache", "cough": "cough", "surgical clip": "surgical clip", "weight loss": "weight loss",
               "bone island": "bone island", "phlebolith": "phlebolith", "joint effusion": "joint effusion",
               "lymphadenopathy": "lymphadenopathy", "nausea": "nausea"}
    seen = Counter()
    for r in reports:
        low = r.text.lower()
        for phrase, concept in phrases.items():
            rows = [m for m in r.mentions if m[2] == concept and phrase in m[0].lower()]
            assert low.count(phrase) == len(rows), (phrase, r.text)
            seen[phrase] += len(rows)
    assert all(seen[p] > 0 for p in phrases), seen
    families = {catalog().family[m[2]] for r in reports for m in r.mentions}
    assert families == {"disease", "finding", "symptom"}
    # a history symptom is present, a negated normal finding absent
    for r in reports:
        for sentence, term, concept, status, phenomenon in r.mentions:
            if phenomenon == "symptom":
                assert status == "present"
            if concept == "joint effusion":
                assert status == "absent" and "no joint effusion" in sentence.lower()


def test_normal_statements_record_what_they_rule_out(reports):
    """Each of these normal statements (chosen by hand from cases.toml), wherever written,
    has an absent truth row of the finding a radiologist reads it to exclude; and no report
    rules out a finding it has."""
    statements = {"heart is normal in size": "cardiomegaly", "spleen is normal in size": "splenomegaly",
                  "liver is normal in size": "hepatomegaly", "thoracic aorta is normal in caliber": "aortic dilatation",
                  "adrenal glands are unremarkable": "adrenal nodule", "menisci are intact": "meniscal tear",
                  "ventricles and sulci are normal in size": "hydrocephalus",
                  "spleen is not enlarged": "splenomegaly", "costophrenic angles are unremarkable": "pleural effusion"}
    seen = Counter()
    for r in reports:
        for phrase, concept in statements.items():
            rows = [m for m in r.mentions if phrase in m[0].lower() and m[2] == concept]
            assert r.text.lower().count(phrase) == len(rows), (phrase, r.text)
            assert all(m[3] == "absent" and m[4] == "normal" for m in rows)
            seen[phrase] += len(rows)
        ruled_out = {m[2] for m in r.mentions if m[4] in ("normal", "normal_statement") and m[3] == "absent"}
        assert not ruled_out & set(r.findings), (r.findings, r.text)
    assert all(seen[p] > 0 for p in statements), seen

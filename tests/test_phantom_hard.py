"""The hard phantom (pacsmine.phantom.hard, cues_hard.toml): kept apart from the NLP, every
phenomenon written and marked, statuses as written, distractors in the text."""

from __future__ import annotations

import ast
import re
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from conftest import shared_file
from pacsmine.config import load_config
from pacsmine.phantom import iter_reports
from pacsmine.phantom.catalog import catalog, parse_slots
from pacsmine.phantom.hard import DISTRACTORS, PHENOMENA

SRC = Path(__file__).resolve().parents[1] / "src" / "pacsmine"
EASY = {"finding", "hedge", "negation", "history", "impression",
        "symptom", "description", "normal", "filler"}  # the last four: findings.toml slots


def _config(difficulty):
    return load_config(overrides=[f'phantom.difficulty="{difficulty}"'])["phantom"]


@pytest.fixture(scope="module")
def hard():
    return list(iter_reports(600, 5, _config("hard")))


@pytest.fixture(scope="module")
def easy():
    return list(iter_reports(600, 5, _config("easy")))


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules a source file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, *(node.module.split(".") if node.module else [])]))
                names.update(".".join([*base, *(node.module.split(".") if node.module else []), a.name])
                             for a in node.names)
            else:
                names.add(node.module)
    return names


def test_the_nlp_never_imports_the_phantom_and_the_phantom_never_reads_the_rules():
    for path in sorted((SRC / "nlp").rglob("*.py")):
        assert not any(n == "pacsmine.phantom" or n.startswith("pacsmine.phantom.") for n in _imports(path)), path
    for path in sorted((SRC / "phantom").rglob("*.py")):
        assert not any(n.startswith("pacsmine.nlp") for n in _imports(path)), path
        assert "rules" not in re.findall(r"[\"']([^\"']+)[\"']", path.read_text("utf-8")), path
    # the hard cues are a data file of the phantom package, not one of the rule files
    assert resources.files("pacsmine.phantom").joinpath("cues_hard.toml").is_file()
    assert not resources.files("pacsmine.nlp").joinpath("rules", "cues_hard.toml").is_file()


def test_cue_data_names_known_concepts():
    cues = tomllib.loads(resources.files("pacsmine.phantom").joinpath("cues_hard.toml").read_text("utf-8"))
    cat = catalog()
    for entry in cues["normal"]:
        assert entry["concept"] in cat.family and entry["region"] in cat.regions, entry  # a disease or a finding
        assert entry["term"] in entry["text"], entry
    assert set(cues["abbreviations"]) <= set(cat.concepts)


def test_every_phenomenon_is_written_and_marked(hard, easy):
    mentions = Counter(m[4] for r in hard for m in r.mentions)
    refs = Counter(x[4] for r in hard for x in r.references)
    dis = Counter(x[1] for r in hard for x in r.distractors)
    written = set(mentions) | set(refs) | set(dis)
    assert set(PHENOMENA) <= written, set(PHENOMENA) - written
    assert written <= set(PHENOMENA) | EASY | {"reference"}
    # the easy phantom writes none of them
    assert {m[4] for r in easy for m in r.mentions} <= EASY
    assert {x[4] for r in easy for x in r.references} == {"reference"}
    assert not any(r.distractors for r in easy)


def test_truth_sentences_are_in_the_text(hard):
    for r in hard:
        for sentence, term, concept, status, phenomenon in r.mentions:
            assert sentence in r.text and term in sentence, (sentence, term)
            assert concept in catalog().family
        for sentence, *_ in r.references:
            assert sentence in r.text
        for sentence, _ in r.distractors:
            assert sentence in r.text


def test_statuses_are_what_the_sentences_say(hard):
    by = {}
    for r in hard:
        for m in r.mentions:
            by.setdefault(m[4], []).append(m)
    for phenomenon, status in (("negation_wording", "absent"), ("long_list", "absent"), ("hedge_after", "uncertain"),
                               ("pseudo_negation", "present"), ("question", "uncertain"),
                               ("normal_statement", "absent"), ("wrapped_line", "absent"), ("missing_period", "absent")):
        assert {m[3] for m in by[phenomenon]} == {status}, phenomenon
    # a mixed sentence holds one present and one absent finding
    per_sentence = Counter()
    for m in by["mixed"]:
        per_sentence[(m[0], m[3])] += 1
    sentences = {s for s, _ in per_sentence}
    assert all(per_sentence[(s, "present")] >= 1 and per_sentence[(s, "absent")] >= 1 for s in sentences)
    # long lists run past a 15-word window; wrapped lines hold a line break; missing periods none
    assert all(len(m[0].split()) > 15 for m in by["long_list"])
    assert all("\n" in m[0] for m in by["wrapped_line"])
    assert not any(m[0].endswith(".") for m in by["missing_period"])
    assert all(re.match(r"\d\. ", m[0]) for m in by["numbered_list"])
    assert all(re.search(r"[A-Z]{2,}|\bmets\b", m[1]) for m in by["abbreviation"])


def test_unarchived_references_cite_no_archived_series(hard):
    n = 0
    for r in hard:
        held = {s for s, _ in r.series}
        for sentence, series, written, instance, phenomenon in r.references:
            if phenomenon == "unarchived":
                n += 1
                assert series not in held and (series, instance) not in r.key_images
                assert str(series) in sentence
            else:
                assert series in held
    assert n > 0


def test_distractors_look_like_references_or_sentence_ends(hard):
    seen = Counter()
    for r in hard:
        for sentence, kind in r.distractors:
            seen[kind] += 1
            if kind == "dr_title":
                assert "Dr. " in sentence
            elif kind in ("clock_time", "ratio", "citation"):
                assert re.search(r"\d+:\d+", sentence), sentence
            else:
                assert re.search(r"series \d+", sentence) and re.search(r"image \d+", sentence)
    assert set(seen) == set(DISTRACTORS)


_NEG = re.compile(r"\b(?:no|not|without|negative|absent|none|neither|nor|free of)\b", re.IGNORECASE)


@pytest.mark.parametrize("mode", ["easy", "hard"])
def test_profile_stays_inside_real_reports(mode, easy, hard):
    """20-40% of sentences negated (chest CT findings 37%, IU X-ray 33%), ~130 words a report."""
    reports = easy if mode == "easy" else hard
    sentences = [s for r in reports for s in re.split(r"(?<=[.!?])\s+|\n+", r.text) if s.strip()]
    share = sum(bool(_NEG.search(s)) for s in sentences) / len(sentences)
    assert 0.20 <= share <= 0.40, share
    words = [len(r.text.split()) for r in reports]
    mean = sum(words) / len(words)
    sd = (sum((w - mean) ** 2 for w in words) / len(words)) ** 0.5
    assert 110 <= mean <= 160 and 40 <= sd <= 110, (mean, sd)


def test_hard_sentences_without_mentions_name_no_disease():
    names = set()
    with open(shared_file("disease_ontology/HumanDO.obo"), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("name: "):
                names.add(line[6:].strip().lower())
            elif line.startswith('synonym: "'):
                names.add(line.split('"')[1].lower())
    names = {n for n in names if len(n) > 3}
    cues = tomllib.loads(resources.files("pacsmine.phantom").joinpath("cues_hard.toml").read_text("utf-8"))
    texts = [parse_slots(e["text"])[0] for e in cues["normal"]] + [t for k in DISTRACTORS for t in cues["distractors"][k]]
    hits = []
    for text in texts:
        tokens = re.findall(r"[a-z0-9'-]+", text.lower())
        for n in range(1, 6):
            for i in range(len(tokens) - n + 1):
                if " ".join(tokens[i: i + n]) in names:
                    hits.append((" ".join(tokens[i: i + n]), text))
    assert hits == []


def test_same_seed_same_text():
    a = [r.text for r in iter_reports(50, 3, _config("hard"))]
    b = [r.text for r in iter_reports(50, 3, _config("hard"))]
    assert a == b


def test_unknown_difficulty_is_an_error():
    with pytest.raises(ValueError, match="easy' or 'hard"):
        next(iter_reports(1, 0, _config("medium")))

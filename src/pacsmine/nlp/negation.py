"""ConText-style negation, uncertainty and history for disease-term mentions, and its scoring.

:class:`ConText` reads trigger phrases from ``rules/context.toml``. A *pre* trigger ("no",
"possible", "history of") governs the words after it, a *post* trigger ("is not seen",
"cannot be excluded") the words before it, a *both* trigger ("versus") either side. A
scope stops at a clause boundary (the configured terminators, such as ";" or "but", and
a full stop), at the next or previous trigger, at the sentence's end, or after
``max_scope_words`` words. So "No evidence of pleural effusion or pneumothorax" negates
both terms while "no effusion; small nodule" negates only the first. Pseudo-triggers
("no change", "prior study") are matched so that the real triggers inside them are not.

Scoring against a phantom's truth lives in :mod:`pacsmine.nlp.evaluate`;
:func:`evaluate_iu_reports` compares findings with IU-style hand-coded labels, from the raw
CSV (:func:`evaluate_iu_xray`) or from a workspace's tables (``pacsmine evaluate``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .evaluate import binary_scores

__all__ = ["ConText", "Trigger", "DEFAULT_TERMINATORS",
           "split_sentences_simple", "read_ct_findings", "read_iu_reports",
           "evaluate_ct_findings", "evaluate_iu_xray", "evaluate_iu_reports", "iu_report_from_labels",
           "iu_reports_from_tables"]

CATEGORIES = ("negation", "uncertainty", "historical")
_FLAG = {"negation": "negated", "uncertainty": "uncertain", "historical": "historical"}

DEFAULT_TERMINATORS = (";", ":", "but", "however", "although", "though", "except", "apart from",
                       "aside from", "whereas", "which", "otherwise", "nevertheless", "yet")


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger found in a sentence: character ``start``/``end``, ``category``
    (negation/uncertainty/historical/pseudo), ``pre``/``post`` directions."""

    start: int
    end: int
    category: str
    pre: bool
    post: bool


_ALNUM = re.compile(r"[a-z0-9]+").findall


def _phrase_pattern(phrase: str) -> str:
    return r"\s+".join(re.escape(part) for part in phrase.split())


def _alternation(phrases: Iterable[str]) -> str:
    # Longest first, so that at one position "no evidence of" beats "no".
    ordered = sorted({p.lower().strip() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    return "|".join(_phrase_pattern(p) for p in ordered)


class ConText:
    """Rule-based assertion of mentions (Harkema et al., 2009).

    Parameters: ``rules`` the parsed trigger TOML (None: packaged ``rules/context.toml``);
    ``terminators`` words/marks ending a scope; ``max_scope_words`` the longest scope.
    :meth:`apply` sets ``negated``/``uncertain``/``historical`` on mention objects that
    have ``start``/``end`` character offsets.
    """

    def __init__(
        self,
        rules: Mapping[str, Any] | None = None,
        terminators: Sequence[str] = DEFAULT_TERMINATORS,
        max_scope_words: int = 15,
    ):
        self.rules = rules
        self.terminators = tuple(terminators)
        self.max_scope_words = max_scope_words
        self._compile()

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "ConText":
        """From ``config["extract"]["terms"]["negation"]`` (keys ``rules``, ``terminators``, ``max_scope_words``)."""
        rules = None
        if section.get("rules"):
            rules = tomllib.loads(Path(section["rules"]).read_text("utf-8"))
        return cls(
            rules=rules,
            terminators=section.get("terminators", DEFAULT_TERMINATORS),
            max_scope_words=int(section.get("max_scope_words", 15)),
        )

    def _compile(self) -> None:
        rules = self.rules
        if rules is None:
            text = resources.files("pacsmine.nlp").joinpath("rules", "context.toml").read_text("utf-8")
            rules = tomllib.loads(text)
        # phrase -> {category: [pre, post]}; a phrase may be pre and post (e.g. "ruled out").
        table: dict[str, dict[str, list[bool]]] = {}
        for category in CATEGORIES:
            section = rules.get(category, {})
            for key, pre, post in (("pre", True, False), ("post", False, True), ("both", True, True)):
                for phrase in section.get(key, ()):
                    dirs = table.setdefault(" ".join(phrase.lower().split()), {}).setdefault(category, [False, False])
                    dirs[0] |= pre
                    dirs[1] |= post
        for phrase in rules.get("pseudo", {}).get("triggers", ()):
            table.setdefault(" ".join(phrase.lower().split()), {})["pseudo"] = [False, False]
        self._table = table
        self._triggers = re.compile(r"(?<![\w/])(?:" + _alternation(table) + r")(?![\w/])", re.IGNORECASE)
        # ASCII text is matched lower-cased by case-sensitive twins of the patterns: the same
        # matches at the same offsets, about four times faster than IGNORECASE.
        self._triggers_lc = re.compile(self._triggers.pattern)
        # A trigger's first run of letters/digits is a whole word of the lower-cased text
        # (it is fenced by the trigger's (?<![\w/]) and a space, a mark or (?![\w/])), so a
        # sentence with none of them has no trigger; None when some phrase starts otherwise.
        firsts = [re.match(r"[a-z0-9]+", p) for p in table]
        self._first = frozenset(m.group() for m in firsts) if all(firsts) else None
        words = [t for t in self.terminators if re.match(r"\w", t)]
        marks = [t for t in self.terminators if not re.match(r"\w", t)]
        parts = []
        if words:
            parts.append(r"(?<!\w)(?:" + _alternation(words) + r")(?!\w)")
        if marks:
            parts.append("|".join(re.escape(m) for m in marks))
        parts.append(r"[.!?](?=\s|$)")  # a full stop left inside a "sentence" still ends a clause
        self._boundaries = re.compile("|".join(parts), re.IGNORECASE)
        self._boundaries_lc = re.compile(self._boundaries.pattern)
        self._word = re.compile(r"\S+")

    def triggers(self, sentence: str) -> list[Trigger]:
        """Triggers in ``sentence`` (pseudo-triggers included, category "pseudo"), in text order."""
        return self._find_triggers(sentence, sentence.lower() if sentence.isascii() else None)

    def _find_triggers(self, sentence: str, low: str | None) -> list[Trigger]:
        # ``low``: the lower-cased sentence when it is ASCII (lower() keeps offsets), else None.
        if low is not None:
            if self._first is not None and self._first.isdisjoint(_ALNUM(low)):
                return []
            found = self._triggers_lc.finditer(low)
        else:
            found = self._triggers.finditer(sentence)
        out = []
        table = self._table
        for m in found:
            cats = table.get(" ".join(m.group(0).lower().split()), {})
            for category, (pre, post) in cats.items():
                out.append(Trigger(m.start(), m.end(), category, pre, post))
        return out

    def scopes(self, sentence: str) -> list[tuple[str, int, int]]:
        """``[(category, start, end), ...]``: the character spans each real trigger governs."""
        low = sentence.lower() if sentence.isascii() else None
        triggers = self._find_triggers(sentence, low)
        real = [t for t in triggers if t.category != "pseudo"]
        if not real:
            return []
        if low is not None:
            bounds = [m.span() for m in self._boundaries_lc.finditer(low)]
        else:
            bounds = [m.span() for m in self._boundaries.finditer(sentence)]
        # Any trigger (pseudo too) also closes another trigger's scope.
        stops = bounds + [(t.start, t.end) for t in triggers]
        words = [m.span() for m in self._word.finditer(sentence)]
        out = []
        for t in real:
            if t.pre:
                end = len(sentence)
                for s, _ in stops:
                    if s >= t.end and s < end:
                        end = s
                after = [w for w in words if w[0] >= t.end]
                if len(after) > self.max_scope_words:
                    end = min(end, after[self.max_scope_words - 1][1])
                out.append((t.category, t.end, end))
            if t.post:
                start = 0
                for _, e in stops:
                    if e <= t.start and e > start:
                        start = e
                before = [w for w in words if w[1] <= t.start]
                if len(before) > self.max_scope_words:
                    start = max(start, before[-self.max_scope_words][0])
                out.append((t.category, start, t.start))
        return out

    def apply(self, sentence: str, mentions: Sequence[Any]) -> Sequence[Any]:
        """Set ``negated``, ``uncertain`` and ``historical`` on each mention (objects with
        ``start``/``end`` offsets into ``sentence``); returns the same mentions."""
        scopes = self.scopes(sentence)
        for mention in mentions:
            mention.negated = mention.uncertain = mention.historical = False
            for category, start, end in scopes:
                if mention.start < end and mention.end > start:
                    setattr(mention, _FLAG[category], True)
        return mentions

    def assert_span(self, sentence: str, start: int, end: int) -> dict[str, bool]:
        """Flags of one character span: ``{"negated": .., "uncertain": .., "historical": ..}``."""
        flags = {v: False for v in _FLAG.values()}
        for category, s, e in self.scopes(sentence):
            if start < e and end > s:
                flags[_FLAG[category]] = True
        return flags


# ------------------------------------------------------------ measurement on real text
#
# Two public sets give real radiology text with hand-made labels (see docs/terms.md):
# ../shared/data/ct_findings (140 chest CT FINDINGS sections, presence absent/present per
# finding) and ../shared/data/iu_xray (3,851 chest X-ray reports with hand-coded Problems).
# Each is scored twice: with the finding's own words located in the text (an oracle span:
# this measures the ConText rules alone) and end to end with the Disease Ontology matcher.

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
# A line break inside a sentence (hard-wrapped text) is a space, unless a header follows.
_SOFT_BREAK = re.compile(r"(?<![.!?:\n])[ \t]*\n(?![ \t]*\n)(?![ \t]*[A-Z][A-Za-z/&, -]*:)")


def split_sentences_simple(text: str) -> list[str]:
    """Sentences of real report text, split at ". " and at line breaks that end a
    sentence or precede a "HEADER:" (enough for scoring; the pipeline has its own splitter)."""
    text = _SOFT_BREAK.sub(" ", text or "")
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]


def read_ct_findings(folder: str | Path):
    """Yield ``{"report", "text", "findings": [(finding name, "absent"|"present"), ...]}`` per
    ``*.md`` file. A finding listed without a presence line is described (location, size),
    so it counts as present; misspelt values ("absnet", "prsent") are read by their start."""
    link = re.compile(r"^- \[([^\]]+)\]")
    bare = re.compile(r"^- ([^\[\\(]+)")
    for path in sorted(Path(folder).glob("*.md")):
        raw = path.read_text("utf-8")
        if "```text" not in raw:
            continue
        text = raw.split("```text", 1)[1].split("```", 1)[0]
        section = re.split(r"^## Extracted Findings\s*$", raw, flags=re.IGNORECASE | re.MULTILINE)
        body = section[1] if len(section) > 1 else ""
        body = re.split(r"^## ", body, flags=re.MULTILINE)[0]
        findings: list[list[str]] = []
        for line in body.splitlines():
            m = link.match(line) or bare.match(line)
            if m:
                findings.append([m.group(1).strip(), "present"])
                continue
            p = re.match(r"^\s*-?\s*presence:\s*(\w+)", line)
            if p and findings:
                value = p.group(1).lower()
                if value.startswith("ab"):
                    findings[-1][1] = "absent"
                elif value.startswith(("pr", "pre")):
                    findings[-1][1] = "present"
                else:
                    findings[-1][1] = ""  # not a presence value: leave the finding out
        yield {"report": path.stem, "text": text,
               "findings": [(f, s) for f, s in findings if s]}


def read_iu_reports(csv_path: str | Path):
    """Yield ``{"report", "text" (findings + impression), "problems": set of lower-case
    Problems headings, "mesh": list of MeSH strings, "normal": bool}`` per row with text."""
    import csv

    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = " ".join(x for x in (row.get("findings", ""), row.get("impression", "")) if x)
            if not text.strip():
                continue
            problems = {p.strip().lower() for p in (row.get("Problems") or "").split(";") if p.strip()}
            yield {
                "report": row.get("uid", ""),
                "text": text,
                "problems": problems - {"normal"},
                "mesh": [m.strip() for m in (row.get("MeSH") or "").split(";") if m.strip() and m.strip().lower() != "normal"],
                "normal": problems == {"normal"},
            }


def _locate(normaliser, phrase: str, sentences: Sequence[str]) -> list[tuple[str, int, int]]:
    """Every occurrence of ``phrase``'s word keys, contiguous, in ``sentences``:
    ``[(sentence, start, end), ...]``."""
    from .terms import tokenize

    target = [normaliser(t) for t, _, _ in tokenize(phrase)]
    if not target:
        return []
    out = []
    for sentence in sentences:
        tokens = tokenize(sentence)
        keys = [normaliser(t) for t, _, _ in tokens]
        for i in range(len(keys) - len(target) + 1):
            if keys[i : i + len(target)] == target:
                out.append((sentence, tokens[i][1], tokens[i + len(target) - 1][2]))
    return out


def _score_items(items: list[tuple[bool, bool, bool]]) -> dict:
    """``items``: (truly absent, predicted absent, predicted present) -> ``negation``
    (positive = absent) and ``present`` (positive = present) scores."""
    neg = (sum(1 for t, a, _ in items if t and a), sum(1 for t, a, _ in items if not t and a),
           sum(1 for t, a, _ in items if t and not a))
    pos = (sum(1 for t, _, p in items if not t and p), sum(1 for t, _, p in items if t and p),
           sum(1 for t, _, p in items if not t and not p))
    return {"negation": binary_scores(*neg), "present": binary_scores(*pos), "n": len(items)}


def _report_prediction(occurrences, assertion) -> tuple[bool, bool]:
    """(absent, present) of one finding in one report: absent when every mention is
    negated; present when some mention is neither negated nor uncertain."""
    return _predict([assertion.assert_span(s, a, b) for s, a, b in occurrences])


def _predict(flags: Sequence[Mapping[str, Any]]) -> tuple[bool, bool]:
    """(absent, present) from the assertion flags of a finding's mentions in one report."""
    absent = all(f["negated"] for f in flags)
    present = any(not f["negated"] and not f.get("uncertain", False) for f in flags)
    return absent, present


def evaluate_ct_findings(folder: str | Path, assertion, annotator=None) -> dict:
    """Negation on ../shared/data/ct_findings.

    ``assertion`` is the method under test: an object with ``assert_span(sentence, start,
    end) -> {"negated": bool, "uncertain": bool, ...}`` such as :class:`ConText`. *Oracle*:
    each labelled finding whose words occur in the report is predicted absent when every
    occurrence is negated, present when one occurrence is neither negated nor uncertain;
    findings whose words do not occur are counted in ``not_located``. *End to
    end* (with ``annotator``, a fitted :class:`TermAnnotator`): findings whose name is one
    DO term are looked up by DOID among the report's mentions.
    """
    from .terms import Normaliser

    norm = annotator.normaliser_ if annotator is not None else Normaliser()
    oracle, e2e = [], []
    not_located = not_in_do = missed = 0
    for report in read_ct_findings(folder):
        sentences = split_sentences_simple(report["text"])
        mentions = None
        for finding, presence in report["findings"]:
            occurrences = _locate(norm, finding, sentences)
            if occurrences:
                oracle.append((presence == "absent", *_report_prediction(occurrences, assertion)))
            else:
                not_located += 1
            if annotator is None:
                continue
            names = annotator.match(finding)
            if len(names) != 1:
                not_in_do += 1
                continue
            if mentions is None:
                mentions = [(s, m) for s in sentences for m in annotator.match(s)]
            hits = [(s, m.start, m.end) for s, m in mentions if m.code == names[0].code]
            if not hits:
                missed += 1
                continue
            e2e.append((presence == "absent", *_report_prediction(hits, assertion)))
    out = {"oracle": _score_items(oracle) | {"not_located": not_located}}
    if annotator is not None:
        out["ontology"] = _score_items(e2e) | {"finding_not_a_do_term": not_in_do, "not_found_in_text": missed}
    return out


def _headings() -> dict[str, list[str]]:
    text = resources.files("pacsmine.nlp").joinpath("rules", "terms_eval_iu.toml").read_text("utf-8")
    return tomllib.loads(text)["headings"]


def iu_report_from_labels(report: str, text: str, labels: Sequence[str] | None,
                          sentences: Sequence[str] | None = None) -> dict | None:
    """One report in :func:`read_iu_reports`' form from a workspace's ``labels`` (ingest
    writes the IU MeSH then Problems strings there), or None without labels.

    The IU Problems headings are exactly the MeSH strings' heads before "/", so the
    lower-cased heads of all labels stand for ``problems``; ``sentences``, when given,
    replace the splitting of ``text`` (a workspace passes its own sentences)."""
    items = [x.strip() for x in labels or () if x and x.strip()]
    if not items:
        return None
    heads = {x.split("/")[0].strip().lower() for x in items}
    out = {"report": report, "text": text or "", "problems": heads - {"normal"},
           "mesh": [x for x in items if x.lower() != "normal"], "normal": heads == {"normal"}}
    if sentences is not None:
        out["sentences"] = list(sentences)
    return out


def iu_reports_from_tables(reports, sentences=None, skip_sections: Iterable[str] = ()) -> Iterator[dict]:
    """Reports of a workspace with labels, in :func:`read_iu_reports`' form.

    ``reports``: ingest/reports.parquet as a pyarrow Table (``accession``, ``text``,
    ``labels``); rows without labels are left out. ``sentences``: extract/sentences.parquet
    (``accession``, ``sentence_index``, ``text``, ``section``) or None to split the text;
    sentences whose ``section`` is in ``skip_sections`` are dropped, and each kept
    sentence's index is listed under ``"sentence_indices"``."""
    cols = reports.column_names
    labels = reports.column("labels").to_pylist() if "labels" in cols else [None] * reports.num_rows
    by_report: dict[str, list[tuple[int, str]]] | None = None
    if sentences is not None:
        skip = {x.upper() for x in skip_sections}
        section = (sentences.column("section").to_pylist() if "section" in sentences.column_names
                   else [None] * sentences.num_rows)
        by_report = {}
        for a, i, t, sec in zip(sentences.column("accession").to_pylist(),
                                sentences.column("sentence_index").to_pylist(),
                                sentences.column("text").to_pylist(), section):
            if (sec or "").upper() not in skip:
                by_report.setdefault(a, []).append((i, t or ""))
    for a, text, lab in zip(reports.column("accession").to_pylist(), reports.column("text").to_pylist(), labels):
        if by_report is None:
            report = iu_report_from_labels(a, text, lab)
        else:
            kept = sorted(by_report.get(a, []))
            report = iu_report_from_labels(a, text, lab, [t for _, t in kept])
            if report is not None:
                report["sentence_indices"] = [i for i, _ in kept]
        if report is not None:
            yield report


def _mentions_by_report(mentions) -> dict[str, list[tuple[int | None, str, dict]]]:
    """accession -> [(sentence_index, DOID, assertion flags), ...] from extract/terms.parquet
    (a pyarrow Table) or rows with ``accession``, ``doid``, ``negated``, ``uncertain``
    (``sentence_index`` optional)."""
    if hasattr(mentions, "to_pylist"):
        mentions = mentions.to_pylist()
    out: dict[str, list[tuple[int | None, str, dict]]] = {}
    for r in mentions:
        out.setdefault(r["accession"], []).append(
            (r.get("sentence_index"), r["code"], {"negated": bool(r["negated"]), "uncertain": bool(r["uncertain"])}))
    return out


def _listed_doids(report: dict, annotator) -> set[str]:
    """DOIDs the report's labels name: each label's head, also read inverted
    ("Hernia, Hiatal" -> "Hiatal Hernia"), through the annotator's matcher."""
    listed: set[str] = set()
    for item in list(report["problems"]) + report["mesh"]:
        head = item.split("/")[0]
        variants = [head, " ".join(reversed([p.strip() for p in head.split(",")]))]
        listed |= {m.code for v in variants for m in annotator.match(v)}
    return listed


def evaluate_iu_xray(csv_path: str | Path, assertion, annotator=None) -> dict:
    """Negation on ../shared/data/iu_xray/indiana_reports.csv (findings + impression):
    :func:`evaluate_iu_reports` over :func:`read_iu_reports`."""
    return evaluate_iu_reports(read_iu_reports(csv_path), assertion, annotator)


def evaluate_iu_reports(reports: Iterable[dict], assertion=None, annotator=None, mentions=None) -> dict:
    """Report-level agreement of findings with IU-style hand-coded labels.

    ``reports``: dicts as :func:`read_iu_reports` yields (the raw CSV) or
    :func:`iu_reports_from_tables` (a workspace); a report's ``sentences`` are used
    when given, else its ``text`` is split by :func:`split_sentences_simple`.

    *Oracle* (with ``assertion``, e.g. a :class:`ConText`): for each finding heading of
    ``rules/terms_eval_iu.toml`` whose surface words occur in a report, the truth is
    present when the report's Problems list the heading and absent otherwise (a report
    coded "normal" has every finding absent); headings sharing a surface word count as
    listed together. Predicted absent when every occurrence is negated, present when one
    occurrence is neither negated nor uncertain. *End to end* (with ``annotator``, a
    fitted :class:`TermAnnotator`): each DO concept found in a report is true-present
    when the labels (Problems/MeSH heads, also read inverted, "Hernia, Hiatal" ->
    "Hiatal Hernia") name the same DOID through the annotator, else true-absent. The
    concepts found are the annotator's own matches asserted by ``assertion``, or, with
    ``mentions`` (extract/terms.parquet), the stage's mentions and flags for the
    report's kept ``sentence_indices`` (all of them when the report lists none).
    ``labelled``: how many label DOIDs there were and how many the text mentions.
    """
    from .terms import Normaliser

    norm = annotator.normaliser_ if annotator is not None else Normaliser()
    headings = _headings()
    # Headings that share a surface word ("granuloma" in "calcified granuloma") count as one
    # finding: a report coded "Calcified Granuloma" does mention a granuloma.
    words = {h: {w for s in v for w in s.split()} for h, v in headings.items()}
    related = {h: {g for g in headings if words[h] & words[g]} for h in headings}
    if annotator is not None and assertion is None and mentions is None:
        raise ValueError("the end-to-end score needs an assertion method or the stage's mentions")
    stage = _mentions_by_report(mentions) if mentions is not None else None
    oracle, e2e = [], []
    n_reports = n_labelled = n_mentioned = 0
    for report in reports:
        n_reports += 1
        sentences = report["sentences"] if "sentences" in report else split_sentences_simple(report["text"])
        if assertion is not None:
            for heading, surfaces in headings.items():
                occurrences = [o for s in surfaces for o in _locate(norm, s, sentences)]
                if occurrences:
                    listed = bool(related[heading] & report["problems"])
                    oracle.append((not listed, *_report_prediction(occurrences, assertion)))
        if annotator is None:
            continue
        listed = _listed_doids(report, annotator)
        if stage is not None:
            kept = report.get("sentence_indices")
            kept = None if kept is None else set(kept)
            found: dict[str, list[dict]] = {}
            for index, doid, flags in stage.get(report["report"], ()):
                if kept is None or index in kept:
                    found.setdefault(doid, []).append(flags)
        else:
            hits: dict[str, list] = {}
            for s in sentences:
                for m in annotator.match(s):
                    hits.setdefault(m.code, []).append((s, m.start, m.end))
            found = {d: [assertion.assert_span(*h) for h in v] for d, v in hits.items()}
        for doid, flags in found.items():
            e2e.append((doid not in listed, *_predict(flags)))
        n_labelled += len(listed)
        n_mentioned += len(listed & set(found))
    out: dict[str, Any] = {"reports": n_reports}
    if assertion is not None:
        out["oracle"] = _score_items(oracle)
    if annotator is not None:
        out["ontology"] = _score_items(e2e) | {"labelled": {
            "concepts": n_labelled, "mentioned": n_mentioned,
            "recall": round(n_mentioned / n_labelled, 4) if n_labelled else 0.0}}
    return out

"""Assertion (absent/present) scored against real hand-made gold.

CT findings (:func:`evaluate_ct_findings`), 140 chest CT FINDINGS sections with each
labelled finding marked present or absent:

1. The report is split into sections and sentences as extract does (:func:`report_sentences`).
2. Each labelled finding is looked for, in this order, under (a) its *names*: its own name
   and the synonyms of the Open Imaging Finding Model of the same name (when a ``synonyms``
   list is given), their word keys (the matcher's plural/adjective normalisation) contiguous
   in a sentence; (b) its names with at most ``max_gap`` other words between two of their
   words ("lytic or blastic lesions" holds "lytic lesion"); (c) its *phrasings*: the anatomy
   phrases of the normal statements that rule it out (``normal_findings.toml``: "heart size"
   for cardiomegaly) and the general phrasings of ``rules/assertion_eval.toml``
   (``[ct_surfaces]``: "lymph nodes" for lymphadenopathy). The first step that finds it
   wins. An occurrence inside a sentence's leading "HEADER:" counts only where no step finds
   one elsewhere; an occurrence inside a longer occurrence of another label of the same
   report ("nodule" inside "thyroid nodules") belongs to that label and is skipped, and so is
   one inside a phrase that names something else (``[ct_not_surfaces]``: "intrapulmonary
   lymph node" is no lymphadenopathy).
3. A finding found nowhere is *not located* and not scored; a located one is scored once, at
   its first mention in the text: predicted absent when the method's status there is
   "absent", present when it is "present" or "historical".
4. Precision, recall and F1 with "absent" as the positive class (``negation``), and with
   "present" as the positive class (``present``); ``negation_decided`` is the negation score
   over the ``n_decided`` items predicted absent or present (those called only uncertain left
   out: hand-made labels code no hedged finding, so there "uncertain" counts as a miss).

IU X-ray (:func:`evaluate_iu_reports`), reports with hand-coded Problems/MeSH: for each
finding heading of ``rules/terms_eval_iu.toml`` whose surface words occur in a report
(*oracle*; an occurrence inside a phrase that names something else, ``[not_surfaces]``:
"effusion" of "pericardial effusion", is not one; headings with the same surfaces,
"emphysema" and "pulmonary emphysema", are one item), the truth is present when the report's
Problems list the heading and absent
otherwise (a report coded "normal" has every finding absent); predicted absent when every
occurrence is absent. *End to end* (with an annotator), each concept the vocabulary finds is
true-present when the labels name the same concept, else true-absent.

A *method* is any object with ``assert_span(sentence, start, end) -> {"negated", "uncertain",
... , optionally "status"}`` (such as :class:`pacsmine.nlp.negation.ConText`).
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .corpora import read_ct_findings, read_iu_reports
from .evaluate import binary_scores
from .negation import status_of

__all__ = ["report_sentences", "ct_surfaces", "locate", "evaluate_ct_findings", "evaluate_iu_xray",
           "evaluate_iu_reports", "iu_report_from_labels", "iu_reports_from_tables", "span_status"]


def _rules(name: str) -> dict:
    return tomllib.loads(resources.files("pacsmine.nlp").joinpath("rules", name).read_text("utf-8"))


_SPLITTERS: list = []


def report_sentences(text: str) -> list[str]:
    """The sentences of a report as extract splits it (sections, then sentences; packaged
    configuration)."""
    if not _SPLITTERS:
        from ..config import load_config
        from .sections import SectionSplitter
        from .sentences import SentenceSplitter

        cfg = load_config()["extract"]
        _SPLITTERS.extend([SectionSplitter.from_config(cfg["sections"]), SentenceSplitter.from_config(cfg["sentences"])])
    from .sentences import report_spans

    return [text[a:b] for _, a, b in report_spans(text or "", *_SPLITTERS)]


def span_status(flags: Mapping[str, Any]) -> str:
    """A method's status of a span: its ``status`` when given, else from the three flags."""
    if "status" in flags:
        return flags["status"]
    return status_of(bool(flags.get("negated")), bool(flags.get("uncertain")), bool(flags.get("historical")))


def ct_surfaces(finding: str, normaliser, synonyms: Sequence[Sequence[str]] = (),
                normal: Mapping[str, Any] | None = None,
                extra: Mapping[str, Sequence[str]] | None = None) -> tuple[list[str], list[str]]:
    """The surfaces of a labelled finding (step 2 of the module's method) in two tiers:
    ``(names, phrasings)``. ``names``: ``finding`` and the other names of each
    ``synonyms`` group holding a name with the same keys; ``phrasings``: the anatomy phrases
    of ``normal``'s ``[[finding]]`` entries for one of those names, and
    ``extra[finding.lower()]``."""
    key = lambda p: tuple(normaliser(w) for w in p.lower().split())
    names = [finding]
    k = key(finding)
    for group in synonyms:
        if k in _group_keys(group, normaliser):
            names += list(group)
    keys = {key(n) for n in names}
    other: list[str] = []
    for entry in (normal or {}).get("finding", ()):
        if key(entry["finding"]) in keys:
            other += entry.get("anatomy", [])
    other += list((extra or {}).get(" ".join(finding.lower().split()), ()))
    names = list(dict.fromkeys(names))
    return names, [p for p in dict.fromkeys(other) if p not in names]


_GROUP_KEYS: dict[tuple, frozenset] = {}


def _group_keys(group: Sequence[str], normaliser) -> frozenset:
    k = (id(normaliser), tuple(group))
    if k not in _GROUP_KEYS:
        _GROUP_KEYS[k] = frozenset(tuple(normaliser(w) for w in g.lower().split()) for g in group)
    return _GROUP_KEYS[k]


class _Tokenized:
    """A report's sentences with their word keys and offsets, tokenized once."""

    def __init__(self, sentences: Sequence[str], normaliser):
        from .terms import tokenize

        self.sentences = list(sentences)
        self.normaliser = normaliser
        self.tokens = [tokenize(s) for s in self.sentences]
        self.keys = [[normaliser(t) for t, _, _ in tok] for tok in self.tokens]


def locate(normaliser, phrase: str, sentences, max_gap: int = 0) -> list[tuple[int, str, int, int]]:
    """Occurrences of ``phrase``'s word keys in ``sentences`` (strings, or a report
    tokenized once), in order, with at most ``max_gap`` other words between two consecutive
    ones: ``[(sentence index, sentence, start, end), ...]`` (first and last word's offsets)."""
    from .terms import tokenize

    doc = sentences if isinstance(sentences, _Tokenized) else _Tokenized(sentences, normaliser)
    target = [normaliser(t) for t, _, _ in tokenize(phrase)]
    if not target:
        return []
    out = []
    for si, keys in enumerate(doc.keys):
        if target[0] not in keys:
            continue
        tokens = doc.tokens[si]
        for i, k in enumerate(keys):
            if k != target[0]:
                continue
            j, ok = i, True
            for want in target[1:]:
                nxt = next((x for x in range(j + 1, min(len(keys), j + 2 + max_gap)) if keys[x] == want), None)
                if nxt is None:
                    ok = False
                    break
                j = nxt
            if ok:
                out.append((si, doc.sentences[si], tokens[i][1], tokens[j][2]))
    return out


_HEADER = re.compile(r"^\s*[^:.]{1,60}:")


def _in_header(sentence: str, start: int) -> bool:
    m = _HEADER.match(sentence)
    return m is not None and start < m.end()


def _score_items(items: list[tuple[bool, bool, bool]]) -> dict:
    """``items``: (truly absent, predicted absent, predicted present) -> ``negation``
    (positive = absent) and ``present`` (positive = present) scores."""
    neg = (sum(1 for t, a, _ in items if t and a), sum(1 for t, a, _ in items if not t and a),
           sum(1 for t, a, _ in items if t and not a))
    pos = (sum(1 for t, _, p in items if not t and p), sum(1 for t, _, p in items if t and p),
           sum(1 for t, _, p in items if not t and not p))
    # The same negation score over the items the method decides (absent or present), leaving
    # out those it calls only uncertain: hand-coded labels code no hedged finding.
    decided = [x for x in items if x[1] or x[2]]
    dec = (sum(1 for t, a, _ in decided if t and a), sum(1 for t, a, _ in decided if not t and a),
           sum(1 for t, a, _ in decided if t and not a))
    return {"negation": binary_scores(*neg), "present": binary_scores(*pos), "n": len(items),
            "negation_decided": binary_scores(*dec), "n_decided": len(decided)}


def _predict(flags: Sequence[Mapping[str, Any]]) -> tuple[bool, bool]:
    """(absent, present) from the assertion flags of a finding's mentions in one report:
    absent when every mention is absent; present when one is present or historical."""
    statuses = [span_status(f) for f in flags]
    return all(s == "absent" for s in statuses), any(s in ("present", "historical") for s in statuses)


def evaluate_ct_findings(folder: str | Path, assertion, normaliser=None, synonyms: Sequence[Sequence[str]] = (),
                         normal: Mapping[str, Any] | None = None, max_gap: int = 3,
                         details: list | None = None) -> dict:
    """Assertion on ../shared/data/ct_findings (the module's method).

    ``assertion``: the method under test; ``normaliser``: word -> key (None: the matcher's
    default :class:`pacsmine.nlp.terms.Normaliser`); ``synonyms``: finding-model name groups
    (:func:`pacsmine.nlp.corpora.read_finding_synonyms`); ``normal``: the parsed normal
    statement rules whose anatomy phrases locate findings (None: the packaged ones).
    Returns ``{"negation", "present", "n", "labelled", "not_located"}``. ``details``, when a
    list, receives one dict per scored item: ``report``, ``finding``, ``gold`` ("absent" or
    "present"), ``status`` (the method's), ``sentence``, ``start``, ``end`` (the span scored).
    """
    from .terms import Normaliser

    norm = normaliser or Normaliser()
    normal = normal if normal is not None else _rules("normal_findings.toml")
    eval_rules = _rules("assertion_eval.toml")
    extra = eval_rules.get("ct_surfaces", {})
    not_surfaces = eval_rules.get("ct_not_surfaces", {})
    items = []
    labelled = not_located = 0
    for report in read_ct_findings(folder):
        doc = _Tokenized(report_sentences(report["text"]), norm)
        surfaces = [ct_surfaces(f, norm, synonyms, normal, extra) for f, _ in report["findings"]]
        # Where each label's names are written: a label's occurrence that lies inside a longer
        # occurrence of another label ("nodule" in "thyroid nodules", both labelled) is that
        # other finding's.
        written = [{(o[0], o[2], o[3]) for s in names for o in locate(norm, s, doc)} for names, _ in surfaces]
        for k, (finding, presence) in enumerate(report["findings"]):
            labelled += 1
            names, phrasings = surfaces[k]
            others = [w for j, ws in enumerate(written) if j != k for w in ws]
            # Phrases that hold a surface but name something else ("intrapulmonary lymph node").
            others += [(o[0], o[2], o[3]) for p in not_surfaces.get(" ".join(finding.lower().split()), ())
                       for o in locate(norm, p, doc)]

            def own(occurrences):
                return [o for o in occurrences if not any(
                    si == o[0] and a <= o[2] and o[3] <= b and (b - a) > (o[3] - o[2]) for si, a, b in others)]

            tiers = [own([o for s in names for o in locate(norm, s, doc)]),
                     own([o for s in names for o in locate(norm, s, doc, max_gap)]),
                     own([o for s in phrasings for o in locate(norm, s, doc)])]
            # A sentence's leading "HEADER:" is a title: used only where no tier finds the
            # finding elsewhere.
            found = next((t for t in ([o for o in t if not _in_header(o[1], o[2])] for t in tiers) if t), None) \
                or next((t for t in tiers if t), None)
            if not found:
                not_located += 1
                continue
            _, sentence, a, b = min(found, key=lambda o: (o[0], o[2], -o[3]))
            status = span_status(assertion.assert_span(sentence, a, b))
            items.append((presence == "absent", status == "absent", status in ("present", "historical")))
            if details is not None:
                details.append({"report": report["report"], "finding": finding, "gold": presence,
                                "status": status, "sentence": sentence, "start": a, "end": b})
    return _score_items(items) | {"labelled": labelled, "not_located": not_located}


def _headings() -> dict[str, list[str]]:
    return _rules("terms_eval_iu.toml")["headings"]


def iu_report_from_labels(report: str, text: str, labels: Sequence[str] | None,
                          sentences: Sequence[str] | None = None) -> dict | None:
    """One report in :func:`pacsmine.nlp.corpora.read_iu_reports`' form from a workspace's
    ``labels`` (ingest writes the IU MeSH then Problems strings there), or None without labels.

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
    """Reports of a workspace with labels, in :func:`pacsmine.nlp.corpora.read_iu_reports`' form.

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
    """accession -> [(sentence_index, concept code, assertion flags), ...] from
    extract/terms.parquet (a pyarrow Table) or rows with ``accession``, ``code``, ``negated``, ``uncertain`` (``sentence_index``, ``status`` optional)."""
    if hasattr(mentions, "to_pylist"):
        mentions = mentions.to_pylist()
    out: dict[str, list[tuple[int | None, str, dict]]] = {}
    for r in mentions:
        flags = {"negated": bool(r["negated"]), "uncertain": bool(r["uncertain"])}
        if r.get("status"):
            flags["status"] = r["status"]
        out.setdefault(r["accession"], []).append((r.get("sentence_index"), r["code"], flags))
    return out


def _listed_codes(report: dict, annotator) -> set[str]:
    """Concept codes the report's labels name: each label's head, also read inverted
    ("Hernia, Hiatal" -> "Hiatal Hernia"), through the annotator's matcher."""
    listed: set[str] = set()
    for item in list(report["problems"]) + report["mesh"]:
        head = item.split("/")[0]
        variants = [head, " ".join(reversed([p.strip() for p in head.split(",")]))]
        listed |= {m.code for v in variants for m in annotator.match(v)}
    return listed


def evaluate_iu_xray(csv_path: str | Path, assertion, annotator=None, details: list | None = None) -> dict:
    """Assertion on ../shared/data/iu_xray/indiana_reports.csv (findings + impression):
    :func:`evaluate_iu_reports` over :func:`pacsmine.nlp.corpora.read_iu_reports`."""
    return evaluate_iu_reports(read_iu_reports(csv_path), assertion, annotator, details=details)


def evaluate_iu_reports(reports: Iterable[dict], assertion=None, annotator=None, mentions=None,
                        details: list | None = None) -> dict:
    """Report-level agreement of findings with IU-style hand-coded labels (module docstring).

    ``reports``: dicts as :func:`pacsmine.nlp.corpora.read_iu_reports` yields (the raw CSV)
    or :func:`iu_reports_from_tables` (a workspace); a report's ``sentences`` are used when
    given, else its ``text`` is split by :func:`report_sentences`. *Oracle* with
    ``assertion``; *end to end* with ``annotator`` (a fitted TermAnnotator): the concepts
    found are the annotator's own matches asserted by ``assertion``, or, with ``mentions``
    (extract/terms.parquet), the stage's mentions and flags for the report's kept
    ``sentence_indices`` (all of them when the report lists none). ``labelled``: how many
    label concepts there were and how many the text mentions. ``details``, when a list,
    receives one dict per oracle item: ``report``, ``finding`` (the heading), ``gold``
    ("absent" or "present"), ``status`` ("absent" when every occurrence is absent, else the
    first occurrence's not absent status), ``sentence``, ``start``, ``end`` (that occurrence).
    """
    from .terms import Normaliser

    norm = annotator.normaliser_ if annotator is not None else Normaliser()
    headings = _headings()
    not_surfaces = _rules("terms_eval_iu.toml").get("not_surfaces", {})
    # Headings that share a surface word ("granuloma" in "calcified granuloma") count as one
    # finding: a report coded "Calcified Granuloma" does mention a granuloma.
    words = {h: {w for s in v for w in s.split()} for h, v in headings.items()}
    related = {h: {g for g in headings if words[h] & words[g]} for h in headings}
    # Headings written with the same surfaces ("emphysema", "pulmonary emphysema") are one
    # finding at the same words with the same truth: scored once, under the first heading.
    scored: dict[str, list[str]] = {}
    for h, v in headings.items():
        if not any(sorted(v) == sorted(w) for w in scored.values()):
            scored[h] = v
    if annotator is not None and assertion is None and mentions is None:
        raise ValueError("the end-to-end score needs an assertion method or the stage's mentions")
    stage = _mentions_by_report(mentions) if mentions is not None else None
    oracle, e2e = [], []
    n_reports = n_labelled = n_mentioned = 0
    for report in reports:
        n_reports += 1
        sentences = report["sentences"] if "sentences" in report else report_sentences(report["text"])
        if assertion is not None:
            for heading, surfaces in scored.items():
                occurrences = [o for s in surfaces for o in locate(norm, s, sentences)]
                if occurrences and heading in not_surfaces:
                    # "effusion" inside "pericardial effusion" is no pleural effusion.
                    others = [o for p in not_surfaces[heading] for o in locate(norm, p, sentences)]
                    occurrences = [o for o in occurrences if not any(
                        si == o[0] and a <= o[2] and o[3] <= b and (b - a) > (o[3] - o[2]) for si, _, a, b in others)]
                if occurrences:
                    listed = bool(related[heading] & report["problems"])
                    flags = [assertion.assert_span(s, a, b) for _, s, a, b in occurrences]
                    oracle.append((not listed, *_predict(flags)))
                    if details is not None:
                        statuses = [span_status(f) for f in flags]
                        k = next((i for i, st in enumerate(statuses) if st != "absent"), 0)
                        _, s, a, b = occurrences[k]
                        details.append({"report": report["report"], "finding": heading,
                                        "gold": "present" if listed else "absent", "status": statuses[k],
                                        "sentence": s, "start": a, "end": b})
        if annotator is None:
            continue
        listed = _listed_codes(report, annotator)
        if stage is not None:
            kept = report.get("sentence_indices")
            kept = None if kept is None else set(kept)
            found: dict[str, list[dict]] = {}
            for index, code, flags in stage.get(report["report"], ()):
                if kept is None or index in kept:
                    found.setdefault(code, []).append(flags)
        else:
            hits: dict[str, list] = {}
            for s in sentences:
                for m in annotator.match(s):
                    hits.setdefault(m.code, []).append((s, m.start, m.end))
            found = {d: [assertion.assert_span(*h) for h in v] for d, v in hits.items()}
        for code, flags in found.items():
            e2e.append((code not in listed, *_predict(flags)))
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

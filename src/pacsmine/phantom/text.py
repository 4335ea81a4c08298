"""Report text: a latent case written out as a radiology report, with its truth.

:class:`ReportWriter` turns one latent case (modality, region, case type, findings)
into report text shaped like the paper's Figure 1 (HISTORY / TECHNIQUE / COMPARISON /
FINDINGS / IMPRESSION, or no headers at all), and records, as it writes, every disease,
finding and symptom mention (present / absent / uncertain / historical; findings and
symptoms are the slots of the wording, catalog.parse_slots) and every image reference with the
exact sentence that carries it, each with its *phenomenon* (how it was written). One method
writes each section (:meth:`ReportWriter.write` calls them in order over a ``_Draft``);
with ``phantom.difficulty = "hard"`` some sentences are handed to
:class:`~pacsmine.phantom.hard.HardWriter` (docs/phantom.md, "Easy and hard").

Speed matters (the paper's 780K reports should take minutes): every template and word
pool is compiled once into a :class:`~pacsmine.phantom.catalog.Pool`, and a report costs
a few hundred ``random()`` calls and ``str.format_map`` calls, nothing per word.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from .catalog import Catalog, Pool, contradicts

__all__ = ["Report", "ReportWriter", "SECTIONS"]

SECTIONS = ("HISTORY", "TECHNIQUE", "COMPARISON", "FINDINGS", "IMPRESSION")

# Series numbering schemes seen in real archives (the first series number of a study).
_SERIES_SCHEMES = ((2, 1), (3, 1), (1001, 1), (5, 1), (201, 100), (601, 1), (2, 2))
# Instances per series: thin-slice CT reaches four-digit image numbers.
_SERIES_SIZES = Pool([(30, 120), (120, 400), (400, 1400)], [0.35, 0.45, 0.2])


@dataclass(slots=True)
class Report:
    """One generated report and its ground truth.

    ``mentions``: (sentence, term as written, concept, status, phenomenon) tuples.
    ``references``: (sentence, series, series_written, instance, phenomenon) tuples, one per
    cited image (phenomenon "unarchived": the cited series is not in the archive).
    ``distractors``: (sentence, phenomenon) of sentences that hold no finding and cite no
    current image but look as if they might (hard mode: "Dr.", clock times, ratios, ...).
    ``key_images``: (series, instance) -> concepts drawn in that image.
    ``series``: (series number, number of instances) of the study.
    """

    accession: str
    patient_id: str
    modality: str
    region: str
    case_type: str
    body_part: str
    study_date: str
    style: int
    contrast: bool
    text: str = ""
    findings: list[str] = field(default_factory=list)
    mentions: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    references: list[tuple[str, int, bool, int, str]] = field(default_factory=list)
    distractors: list[tuple[str, str]] = field(default_factory=list)
    key_images: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    series: list[tuple[int, int]] = field(default_factory=list)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Style:
    """The compiled preferences of one radiologist."""

    def __init__(self, cat: Catalog, index: int):
        s = cat.styles
        spec = s["styles"][str(index % len(s["styles"]))]
        self.index = index
        self.headers: dict[str, str] = s["headers"][spec["headers"]]
        self.sep: str = spec["sep"]
        forms = list(spec["refs"])
        self.ref_forms = Pool(forms, [spec["refs"][f] for f in forms])
        self.refs = {form: cat.style_pool(s["refs"][form], index, 11 + i) for i, form in enumerate(s["refs"])}
        self.findings = {kind: cat.style_pool(t, index, 101 + i) for i, (kind, t) in enumerate(s["findings"].items())}
        self.negation = cat.style_pool(s["negation"]["templates"], index, 201)
        self.neg_join = cat.style_pool(s["negation"]["joins"], index, 202)
        self.hedge = cat.style_pool(s["hedge"]["templates"], index, 301)
        self.hedge_join = cat.style_pool(s["hedge"]["joins"], index, 302)
        self.hedge_desc = cat.style_pool(s["hedge"]["desc"], index, 303)
        self.historical = cat.style_pool(s["history"]["historical"], index, 401)
        self.plain_history = cat.style_pool(s["history"]["plain"], index, 402)
        self.procedures = cat.style_pool(s["history"]["procedures"], index, 403)
        self.technique = {m: cat.style_pool(t, index, 501 + i) for i, m in enumerate(("CT", "MR", "PT", "CR", "US"))
                          for t in [s["technique"][m]]}
        self.contrast = {m: cat.style_pool(s["technique"][f"{m}_contrast"], index, 511 + i) for i, m in enumerate(("CT", "MR"))}
        self.agents = {m: cat.style_pool(s["technique"][f"{m}_agents"], index, 521 + i) for i, m in enumerate(("CT", "MR"))}
        self.comparison = cat.style_pool(s["comparison"]["templates"], index, 601)
        self.impression = cat.style_pool(s["impression"]["present"], index, 701)
        self.impression_normal = cat.style_pool(s["impression"]["normal"], index, 702)
        self.unit = cat.style_pool(["cm", "mm", "cm2"], index, 801)
        self.filler = cat.style_pool(cat.words["filler"]["templates"], index, 901)
        # Terse radiologists write shorter reports, verbose ones longer.
        self.length_factor = (0.75, 1.0, 1.25, 0.9, 1.1, 1.0)[index % 6]
        self.abbreviate_ranges = index % 2 == 0


class _Draft:
    """One report being written: its latent case, style, shared fields and sections so far.

    The section writers of :class:`ReportWriter` read and extend it; :meth:`mention`
    records a truth mention, :meth:`surface` draws how a concept is written and
    :meth:`size` a measurement within a range of millimetres.
    """

    def __init__(self, writer: "ReportWriter", rng, report: Report, age: int, sex: str):
        cat = writer.cat
        self.writer = writer
        self.rng = rng
        self.rnd = rng.random
        self.report = report
        self.st: _Style = writer.styles[report.style]
        self.region = cat.regions[report.region]
        self.case = cat.case_types[report.case_type]
        self.adjectives: Pool = writer.adjectives[report.modality]
        self.present: set[str] = set(report.findings)
        self.fields: dict[str, Any] = {
            "modality_name": cat.words["modality_names"][report.modality],
            "region": writer.region_names[report.region].draw(self.rnd), "age": age, "sex": sex,
            "sex_cap": _cap(sex), "density": cat.words["density"][report.modality],
        }
        self.main_loc = ""
        self.negatable: list[str] = []
        self.history: list[str] = []
        self.technique: list[str] = []
        self.comparison: list[str] = []
        self.findings: list[str] = []
        self.negations: list[str] = []  # statements interleaved after the positive findings
        self.impression: list[str] = []
        self.body: list[str] = []

    def surface(self, concept: str) -> str:
        """How this report writes ``concept`` (hard mode: sometimes an abbreviation)."""
        surface = self.writer.surfaces[concept].draw(self.rnd)
        hard = self.writer.hard
        return surface if hard is None else hard.abbreviate(self, concept, surface)

    def mention(self, sentence: str, surface: str, concept: str, status: str, phenomenon: str) -> None:
        """Record a truth mention; an abbreviation written in an easy template is the
        phenomenon "abbreviation"."""
        if surface not in sentence:  # written capitalised at the start of the sentence
            surface = _cap(surface)
        hard = self.writer.hard
        if hard is not None and phenomenon in _EASY_PHENOMENA and hard.is_abbreviation(surface):
            phenomenon = "abbreviation"
        self.report.mentions.append((sentence, surface, concept, status, phenomenon))

    def slots(self, sentence: str, pieces: tuple[str, ...], phenomenon: str) -> None:
        """Record the finding and symptom slots (catalog.parse_slots) of the wording
        ``pieces`` (templates and words) that ``sentence`` was written from."""
        table = self.writer.cat.slots
        for piece in pieces:
            for surface, concept, status in table.get(piece, ()):
                self.mention(sentence, surface, concept, status, phenomenon)

    def size(self, range_mm: tuple[float, float]) -> tuple[str, float]:
        """A measurement drawn in ``range_mm``, written in the style's unit; and its mm."""
        lo, hi = range_mm
        mm = lo + (hi - lo) * self.rnd()
        unit = self.st.unit.draw(self.rnd)
        if unit == "mm":
            return f"{mm:.0f} mm", mm
        if unit == "cm2":
            return f"{mm / 10:.1f} x {mm * (0.5 + 0.4 * self.rnd()) / 10:.1f} cm", mm
        return f"{mm / 10:.1f} cm", mm


# The phenomena of the easy templates: what each kind of sentence is.
_EASY_PHENOMENA = frozenset({"finding", "hedge", "negation", "history", "impression"})


class ReportWriter:
    """Writes reports for latent cases drawn from a :class:`Catalog`.

    Parameters
    ----------
    cat : the compiled catalog.
    config : the ``[phantom]`` config section (probabilities, lengths, styles).
    """

    def __init__(self, cat: Catalog, config: dict[str, Any]):
        self.cat = cat
        self.config = config
        n_styles = max(1, int(config.get("styles", 6)))
        self.styles = [_Style(cat, i) for i in range(n_styles)]
        mods = config["modality_weights"]
        self.modalities = Pool(list(mods), [mods[m] for m in mods])
        self.region_pools = {m: Pool(list(w), list(w.values())) for m, w in cat.region_weights.items()}
        self.surfaces = {name: Pool(c.surfaces, zipf=True) for name, c in cat.concepts.items()}
        self.locations = {
            (r.name, organ): Pool(locs) for r in cat.regions.values() for organ, locs in r.locations.items()
        }
        self.any_location = {r.name: Pool([l for locs in r.locations.values() for l in locs]) for r in cat.regions.values()}
        self.region_names = {r.name: Pool(r.names, zipf=True) for r in cat.regions.values()}
        self.symptoms = {r.name: Pool(r.symptoms, zipf=True) for r in cat.regions.values()}
        w = cat.words
        self.adjectives = {m: Pool(a, zipf=True) for m, a in w["adjectives"].items()}
        self.severity = Pool(w["severity"]["words"], zipf=True)
        self.sexes = Pool(w["patient"]["sex"], zipf=True)
        parts = w["filler"]["parts"]
        # each region names its own parts first (the common ones), the general parts after
        self.parts = {r: Pool(parts.get(r, []) + parts["general"], zipf=True) for r in cat.regions}
        lists = w["filler"]["lists"]
        self.states = Pool(lists["states"], zipf=True)
        self.states_plural = Pool(lists["states_plural"], zipf=True)
        self.incidentals = Pool(lists["incidentals"], zipf=True)
        # filler that rules a finding out: part -> (concept, the states that do)
        self.rules_out = {part: (spec["concept"], frozenset(spec["states"]))
                          for part, spec in w["filler"].get("rules_out", {}).items()}
        mods = [p + r for r in w["modifiers"]["roots"] for p in w["modifiers"]["prefixes"]]
        random.Random(4242).shuffle(mods)  # a fixed order: which combinations are the common ones
        self.modifiers = Pool(mods, zipf=True)
        self.roots = Pool(w["procedures"]["roots"], zipf=True)
        self.suffixes = Pool(w["procedures"]["suffixes"], zipf=True)
        self.qualifiers = Pool(w["procedures"]["qualifiers"])
        self.history_primaries = Pool(cat.oncologic_history, zipf=True)
        # log-normal length with the configured mean and sd (Table 1: 130 +- 95 words)
        mean, sd = float(config["mean_words"]), float(config["sd_words"])
        self.len_sigma = math.sqrt(math.log(1.0 + (sd / mean) ** 2))
        self.len_mu = math.log(mean) - self.len_sigma**2 / 2
        difficulty = config["difficulty"]
        if difficulty not in ("easy", "hard"):
            raise ValueError(f"phantom.difficulty must be 'easy' or 'hard', not {difficulty!r}")
        self.hard = None
        if difficulty == "hard":
            from .hard import HardWriter

            self.hard = HardWriter(self, config["hard"])

    # ------------------------------------------------------------------ latent case

    def draw_case(self, rng, accession: str, patient_id: str, study_date: str) -> Report:
        """Draw modality, region, case type, style and the study's series."""
        rnd = rng.random
        modality = self.modalities.draw(rnd)
        region = self.region_pools[modality].draw(rnd)
        case = self.cat.case_types[self.cat.case_pools[region].draw(rnd)]
        style = int(rnd() * len(self.styles))
        contrast = modality in ("CT", "MR") and rnd() < 0.7
        report = Report(accession, patient_id, modality, region, case.name, self.cat.regions[region].body_part,
                        study_date, style, contrast)
        findings = [case.main]
        for concept, p in case.secondary:
            if rnd() < p and concept not in findings:
                findings.append(concept)
        report.findings = findings
        # Series of the study: 1-3 series numbered by one of the archive's schemes.
        n_series = 1 if rnd() < 0.4 else (2 if rnd() < 0.6 else 3)
        first, step = _SERIES_SCHEMES[int(rnd() * len(_SERIES_SCHEMES))]
        for k in range(n_series):
            lo, hi = _SERIES_SIZES.draw(rnd)
            report.series.append((first + k * step, rng.randint(lo, hi)))
        return report

    # ------------------------------------------------------------------ writing

    def write(self, rng, report: Report, age: int, sex: str) -> Report:
        """Fill ``report.text`` and its truth (mentions, references, key images, distractors).

        The report is written section by section (:meth:`_history`, :meth:`_technique`,
        :meth:`_findings`, :meth:`_hedge`, :meth:`_negations`, :meth:`_impression`, then
        :meth:`_fill` to the drawn length); each piece appends its sentences to the draft
        and records the truth of what it wrote.
        """
        d = _Draft(self, rng, report, age, sex)
        hard = self.hard
        d.history = self._history(d)
        if hard is not None:
            hard.question(d)
        d.technique = self._technique(d)
        d.comparison = [_cap(d.st.comparison.draw(d.rnd).format_map(d.fields))]
        d.findings = self._findings(d)
        self._hedge(d)
        d.negations = self._negations(d)
        if hard is not None:
            hard.mixed(d)
            hard.normal_statement(d)
        d.impression = self._impression(d)
        if hard is not None:
            hard.distractor(d)
        self._fill(d)
        report.text = self._assemble(d)
        return report

    def _history(self, d: "_Draft") -> list[str]:
        """HISTORY: the symptom, a recalled cancer (a historical mention), procedures."""
        rnd, st = d.rnd, d.st
        history: list[str] = []
        primary = None
        if d.case.oncologic or rnd() < self.config["p_incidental_history"]:
            for _ in range(3):
                candidate = self.history_primaries.draw(rnd)
                if candidate not in d.present:
                    primary = candidate
                    break
        symptom = self.symptoms[d.report.region].draw(rnd)
        d.fields["symptom"], d.fields["symptom_cap"] = symptom, _cap(symptom)
        if primary is not None:
            surface = d.surface(primary)
            template = st.historical.draw(rnd)
            sentence = _cap(template.format_map({**d.fields, "term": surface}))
            history.append(sentence)
            d.mention(sentence, surface, primary, "historical", "history")
        else:
            template = st.plain_history.draw(rnd)
            sentence = _cap(template.format_map(d.fields))
            history.append(sentence)
        if "{symptom" in template:
            d.slots(sentence, (symptom,), "symptom")
        if rnd() < 0.35:
            procs = [self._procedure(rnd) for _ in range(1 if rnd() < 0.7 else 2)]
            history.append(st.procedures.draw(rnd).format(procedures=" and ".join(procs)))
        return history

    def _technique(self, d: "_Draft") -> list[str]:
        """TECHNIQUE: the modality's protocol, its contrast phrase agreeing with the latent flag."""
        rnd, st, modality = d.rnd, d.st, d.report.modality
        if modality == "CR" and rnd() >= 0.5:
            return []
        contrast = ""
        if modality in ("CT", "MR"):
            pool = st.contrast[modality]
            for _ in range(4):  # the phrase must agree with the latent contrast flag
                contrast = pool.draw(rnd)
                if ("without" in contrast and "with " not in contrast) != d.report.contrast:
                    break
            ml = (15, 20, 10, 7)[int(rnd() * 4)] if modality == "MR" else (75, 80, 100, 120, 90)[int(rnd() * 5)]
            contrast = contrast.format(ml=ml, agent=st.agents[modality].draw(rnd))
        dose = f"{8 + 8 * rnd():.1f}"
        return [st.technique[modality].draw(rnd).format(
            region=d.fields["region"], contrast=contrast, dose=dose, uptake=55 + int(rnd() * 30))]

    def _findings(self, d: "_Draft") -> list[str]:
        """FINDINGS: one sentence per present finding, some citing key images."""
        rnd, st, cfg, report = d.rnd, d.st, self.config, d.report
        findings: list[str] = []
        for k, concept_name in enumerate(report.findings):
            concept = self.cat.concepts[concept_name]
            surface = d.surface(concept_name)
            loc_pool = self.locations.get((report.region, concept.organ)) or self.any_location[report.region]
            loc = loc_pool.draw(rnd)
            if k == 0:
                d.main_loc = loc
            if k > 0 and self.hard is not None:
                sentence = self.hard.pseudo_negation(d, concept_name, surface, loc)
                if sentence is not None:
                    findings.append(sentence)
                    continue
            size, mm = d.size(concept.size_mm)
            size2, _ = d.size((mm * 0.5, mm * 0.9))
            adj = (self.adjectives["bone"] if concept.kind == "bone" else d.adjectives).draw(rnd)
            sev = self.severity.draw(rnd)
            cited: list[tuple[int, int, bool]] = []
            ref = ""
            if concept.metastatic:
                p_cite = cfg["p_cite_metastatic"]
            else:
                p_cite = cfg["p_cite_main"] if k == 0 else cfg["p_cite_secondary"]
            if rnd() < p_cite:
                ref, cited = self._reference(d.rng, st, report)
                if rnd() < cfg["p_two_references"]:
                    ref2, cited2 = self._reference(d.rng, st, report, series=cited[0][0])
                    second = st.refs["second"].draw(rnd) if "second" in st.refs else " and the {loc}{ref}"
                    ref += second.format(loc=loc_pool.draw(rnd), ref=ref2)
                    cited += cited2
            archived = True
            if cited and self.hard is not None:
                ref, cited, archived = self.hard.unarchived(d, ref, cited)
            template = st.findings[concept.kind].draw(rnd)
            sentence = _cap(template.format_map({
                **d.fields, "term": surface, "loc": loc, "size": size, "size2": size2, "adj": adj,
                "adj_cap": _cap(adj), "sev": sev, "sev_cap": _cap(sev), "ref": ref,
            }))
            findings.append(sentence)
            d.mention(sentence, surface, concept_name, "present", "finding")
            d.slots(sentence, (template, adj) if "{adj" in template else (template,), "description")
            for series, instance, written in cited:
                report.references.append((sentence, series, written, instance,
                                          "reference" if archived else "unarchived"))
                if archived:
                    report.key_images.setdefault((series, instance), []).append(concept_name)
        return findings

    def _hedge(self, d: "_Draft") -> None:
        """A hedged differential (uncertain mentions), appended to the findings."""
        rnd, st, cat, rng = d.rnd, d.st, self.cat, d.rng
        if rnd() >= self.config["p_hedge"]:
            return
        pool = [c for c in cat.hedge_concepts[d.report.region] if c not in d.present]
        if not pool:
            return
        # a differential is about one place: diseases of the same organ where possible
        first = pool[int(rnd() * len(pool))]
        organ = cat.concepts[first].organ
        same = [c for c in pool if c != first and cat.concepts[c].organ == organ]
        k = int(rnd() * min(3, len(same) + 1))
        chosen = [first] + rng.sample(same, k)
        d.present.update(chosen)
        surfaces = [d.surface(c) for c in chosen]
        loc_pool = self.locations.get((d.report.region, organ)) or self.any_location[d.report.region]
        if self.hard is not None and self.hard.hedge_after(d, chosen, surfaces, loc_pool.draw(rnd)):
            return
        size, _ = d.size((4.0, 15.0))
        desc_template, adj = st.hedge_desc.draw(rnd), d.adjectives.draw(rnd)
        desc = desc_template.format(adj=adj, size=size)
        joined = self._join(surfaces, st.hedge_join.draw(rnd))
        sentence = _cap(st.hedge.draw(rnd).format(desc=desc, loc=loc_pool.draw(rnd), terms=joined))
        d.findings.append(sentence)
        d.slots(sentence, (desc_template, adj) if "{adj" in desc_template else (desc_template,), "description")
        for c, s in zip(chosen, surfaces):
            d.mention(sentence, s, c, "uncertain", "hedge")

    def _negations(self, d: "_Draft") -> list[str]:
        """Negated statements: absent mentions, one to three diseases each."""
        rnd, st, rng = d.rnd, d.st, d.rng
        d.negatable = [c for c in d.region.negatable if c not in d.present]
        n_neg = int(rnd() * (self.config["max_negations"] + 1))
        negations: list[str] = []
        for _ in range(n_neg):
            if not d.negatable:
                break
            if self.hard is not None:
                sentence = self.hard.negation(d)
                if sentence is not None:
                    negations.append(sentence)
                    continue
            k = 1 + int(rnd() * min(3, len(d.negatable)))
            chosen = rng.sample(d.negatable, k)
            for c in chosen:
                d.negatable.remove(c)
            surfaces = [d.surface(c) for c in chosen]
            joined = self._join(surfaces, st.neg_join.draw(rnd))
            sentence = st.negation.draw(rnd).format(terms=joined, terms_cap=_cap(joined),
                                                    modality_name=d.fields["modality_name"])
            phenomenon = "negation"
            if self.hard is not None:
                sentence, phenomenon = self.hard.layout(d, sentence, surfaces)
            negations.append(sentence)
            for c, s in zip(chosen, surfaces):
                d.mention(sentence, s, c, "absent", phenomenon)
        return negations

    def _impression(self, d: "_Draft") -> list[str]:
        """IMPRESSION: the main finding again (a present mention) and/or a normal remark."""
        rnd, st = d.rnd, d.st
        impression: list[str] = []
        main = d.report.findings[0]
        if rnd() < 0.85:
            surface = d.surface(main)
            sentence = st.impression.draw(rnd).format(term=surface, term_cap=_cap(surface), loc=d.main_loc)
            impression.append(sentence)
            d.mention(sentence, surface, main, "present", "impression")
        if rnd() < 0.5 or not impression:
            impression.append(_cap(st.impression_normal.draw(rnd).format_map(d.fields)))
        if self.hard is not None:
            impression = self.hard.numbered(d, impression)
        return impression

    def _fill(self, d: "_Draft") -> None:
        """Normal statements and filler up to the drawn length, interleaved after the
        positive findings together with the negated statements."""
        rng, rnd, st = d.rng, d.rnd, d.st
        target = math.exp(self.len_mu + self.len_sigma * rng.gauss(0.0, 1.0)) * st.length_factor
        words = sum(s.count(" ") + 1 for part in (d.history, d.technique, d.comparison, d.findings,
                                                  d.negations, d.impression) for s in part)
        # a normal statement never rules out what this report has ("The spleen is normal in
        # size" in a splenomegaly case), nor what it already said is absent
        normals = [n for n in d.region.normal
                   if not any(status == "absent" and contradicts(concept, d.present)
                              for _, concept, status in self.cat.slots.get(n, ()))]
        extra: list[str] = []
        typo = self.config["typo_rate"]
        while words < target:
            if normals and rnd() < 0.55:
                normal = normals.pop(int(rnd() * len(normals)))
                sentence, pieces, phenomenon = normal + ".", (normal,), "normal"
            else:
                sentence, pieces, ruled_out = self._filler(rnd, st, d.report.region)
                phenomenon = "filler"
                if any(contradicts(concept, d.present) for _, concept in ruled_out):
                    continue  # "The spleen is not enlarged" is not written in a splenomegaly case
            keep = [s for p in pieces for s, _, _ in self.cat.slots.get(p, ())]
            if phenomenon == "filler":
                keep += [surface for surface, _ in ruled_out]
            if rnd() < typo:
                sentence = self._typo(rng, sentence, keep)
            extra.append(sentence)
            d.slots(sentence, pieces, phenomenon)
            if phenomenon == "filler":
                for surface, concept in ruled_out:
                    d.mention(sentence, surface, concept, "absent", "normal")
            words += sentence.count(" ") + 1
        body = d.findings[:]
        n_findings = len(d.findings)
        for sentence in d.negations + extra:
            body.insert(n_findings + int(rnd() * (len(body) - n_findings + 1)), sentence)
        d.body = body

    def _assemble(self, d: "_Draft") -> str:
        """The sections with the style's headers and sentence separator."""
        st = d.st
        sections = (("HISTORY", d.history), ("TECHNIQUE", d.technique), ("COMPARISON", d.comparison),
                    ("FINDINGS", d.body), ("IMPRESSION", d.impression))
        paragraphs = []
        for name, sentences in sections:
            if not sentences:
                continue
            header = st.headers[name]
            text = st.sep.join(sentences)
            paragraphs.append(f"{header}\n{text}" if header else text)
        return "\n\n".join(paragraphs)

    # ------------------------------------------------------------------ pieces

    @staticmethod
    def _join(surfaces: list[str], join: str) -> str:
        if len(surfaces) == 1:
            return surfaces[0]
        if len(surfaces) == 2 and join == ", ":
            join = " or "
        last = " or " if join == ", " else join
        return join.join(surfaces[:-1]) + last + surfaces[-1]

    def _procedure(self, rnd: Callable[[], float]) -> str:
        return self.qualifiers.draw(rnd) + self.roots.draw(rnd) + self.suffixes.draw(rnd)

    def _filler(self, rnd: Callable[[], float], st: _Style, region: str
                ) -> tuple[str, tuple[str, ...], list[tuple[str, str]]]:
        """A filler sentence, the wording pieces (template, incidental) it was written from,
        and the (surface, concept) of each finding it rules out ("spleen is not enlarged",
        splenomegaly; words.toml ``[filler.rules_out]``)."""
        parts = self.parts[region]
        part = parts.draw(rnd)
        plural = part.endswith("s") and not part.endswith(("ss", "us", "is"))
        template = st.filler.draw(rnd)
        part2 = parts.draw(rnd)  # drawn in this order: the same seed gives the same text as before
        state = (self.states_plural if plural else self.states).draw(rnd)
        state_plural = self.states_plural.draw(rnd)
        incidental = self.incidentals.draw(rnd)
        sentence = template.format(
            part=part, part_cap=_cap(part), part2=part2, state=state, state_plural=state_plural,
            incidental=incidental, modifier=self.modifiers.draw(rnd))
        ruled_out = []
        for p, s in ((part, state), (_cap(part), state), (part2, state_plural)):
            rule = self.rules_out.get(p.lower() if p[:1].isupper() else p)
            if rule and s in rule[1] and f"{p} {s}" in sentence and (f"{p} {s}", rule[0]) not in ruled_out:
                ruled_out.append((f"{p} {s}", rule[0]))
        return sentence, ((template, incidental) if "{incidental}" in template else (template,)), ruled_out

    @staticmethod
    def _typo(rng, sentence: str, keep: list[str] = ()) -> str:
        """Swap two letters of one word: the misspellings that make a real vocabulary's tail.
        Words of the ``keep`` phrases (the truth's terms) are left as written."""
        words = sentence.split(" ")
        i = int(rng.random() * len(words))
        w = words[i]
        if len(w) >= 5 and w.isalpha():
            p = 1 + int(rng.random() * (len(w) - 3))
            kind = rng.random()
            if any(w.lower() in k.lower().split() for k in keep):
                return sentence  # drawn all the same, so that the rest of the report is unchanged
            if kind < 0.4:  # transposed letters
                words[i] = w[:p] + w[p + 1] + w[p] + w[p + 2:]
            elif kind < 0.7:  # a letter dropped
                words[i] = w[:p] + w[p + 1:]
            else:  # a letter doubled
                words[i] = w[:p] + w[p] + w[p:]
        return " ".join(words)

    def _reference(self, rng, st: _Style, report: Report, series: int | None = None
                   ) -> tuple[str, list[tuple[int, int, bool]]]:
        """One written image reference and the (series, instance, series_written) it cites."""
        rnd = rng.random
        form = st.ref_forms.draw(rnd)
        if series is None:
            series, n = report.series[int(rnd() * len(report.series))]
        else:
            n = dict(report.series)[series]
        if form == "image_only" and len(report.series) > 1:
            form = "paren"  # "image 45" alone is only unambiguous in a single-series study
        a = 1 + int(rnd() * n)
        template = st.refs[form].draw(rnd)
        if form == "range":
            b = min(n, a + 1 + int(rnd() * 3))
            if b == a:
                form, template = "paren", st.refs["paren"].draw(rnd)
            else:
                sa, sb = str(a), str(b)
                written = sb[-2:] if st.abbreviate_ranges and a >= 100 and sa[:-2] == sb[:-2] else sb
                return template.format(s=series, a=a, b=written), [(series, i, True) for i in range(a, b + 1)]
        if form == "list":
            j = a + 2 + int(rnd() * 12)
            if j > n:
                form, template = "paren", st.refs["paren"].draw(rnd)
            else:
                return template.format(s=series, i=a, j=j), [(series, a, True), (series, j, True)]
        return template.format(s=series, i=a), [(series, a, form != "image_only")]

"""The hard phantom: what real reports do that the easy templates never do.

With ``phantom.difficulty = "hard"`` the :class:`~pacsmine.phantom.text.ReportWriter`
hands some of its sentences to :class:`HardWriter`, which writes them with the wordings
of ``cues_hard.toml`` (kept apart from the NLP's rule files: nothing under pacsmine.nlp
reads it) and records each truth row's *phenomenon*:

* ``negation_wording``: absent findings negated in other words ("Lack of X.", "X: none.");
* ``long_list``: one negation over a list longer than a scope window (all items absent);
* ``mixed``: one present and one absent finding in one sentence ("X without Y", "X, but no Y");
* ``hedge_after``: uncertain findings hedged after the term ("X ..., not entirely excluded.");
* ``pseudo_negation``: a present finding around "no change in the X";
* ``question``: "Evaluate for X." in the history: uncertain (an order is not a finding;
  the shared status set has no "indication", and uncertain is what the assertion says);
* ``normal_statement``: "The pancreas is unremarkable." rules out a finding (absent; the
  truth's term is the anatomy phrase, as no disease word is written);
* ``abbreviation``: a concept written as an abbreviation ("PTX", "liver mets");
* ``wrapped_line`` / ``missing_period``: a negated sentence hard-wrapped over two lines, or
  without its full stop (the next sentence runs on);
* ``numbered_list``: the impression written as "1. ... 2. ...";
* ``unarchived``: a cited image in a series that the archive does not hold (a reference
  that cannot be linked);
* distractors (no mention, no current image): ``dr_title``, ``clock_time``, ``ratio``,
  ``citation``, ``prior_exam_ref``.

Each method takes the report's draft (``text._Draft``) and either writes (returning
what it wrote, or True) or declines (None/False) so that the easy writer goes on.
"""

from __future__ import annotations

import re
from typing import Any

from .catalog import Pool, contradicts, load_data, parse_slots

__all__ = ["HardWriter", "PHENOMENA", "DISTRACTORS"]

_SERIES_WRITTEN = re.compile(r"(\b(?:series|Se|se) |\((?:image )?)(\d+)(?=\D|$)")
DISTRACTORS = ("dr_title", "clock_time", "ratio", "citation", "prior_exam_ref")
PHENOMENA = ("negation_wording", "long_list", "mixed", "hedge_after", "pseudo_negation", "question",
             "normal_statement", "abbreviation", "wrapped_line", "missing_period", "numbered_list",
             "unarchived", *DISTRACTORS)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class HardWriter:
    """The hard phenomena, drawn with the probabilities of ``config["phantom"]["hard"]``."""

    def __init__(self, writer, config: dict[str, Any]):
        cues = load_data("cues_hard")
        self.writer = writer
        self.p = {k: float(v) for k, v in config.items()}
        self.negation_templates = Pool(cues["negation"], zipf=True)
        self.hedge_templates = Pool(cues["hedge_after"], zipf=True)
        self.mixed_templates = Pool(cues["mixed"])
        self.pseudo_templates = Pool(cues["pseudo_negation"])
        self.question_templates = Pool(cues["question"], zipf=True)
        self.list_leads = Pool(cues["long_list_lead"])
        self.list_items = Pool(cues["long_list_item"])
        self.list_len = tuple(int(x) for x in cues["long_list_items"])
        self.normals: dict[str, list[dict[str, str]]] = {}
        for entry in cues["normal"]:  # a normal statement may also name a finding as a slot
            text, slots = parse_slots(entry["text"])
            self.normals.setdefault(entry["region"], []).append({**entry, "text": text, "slots": slots})
        self.abbreviations = {c: Pool(v) for c, v in cues["abbreviations"].items()}
        self._abbrev_set = {a for v in cues["abbreviations"].values() for a in v}
        d = cues["distractors"]
        self.distractors = {kind: Pool(d[kind]) for kind in DISTRACTORS}
        self.names = Pool(d["names"])

    # ------------------------------------------------------------------ words

    def abbreviate(self, d, concept: str, surface: str) -> str:
        pool = self.abbreviations.get(concept)
        if pool is not None and d.rnd() < self.p["p_abbreviation"]:
            return pool.draw(d.rnd)
        return surface

    def is_abbreviation(self, surface: str) -> bool:
        return surface in self._abbrev_set

    def _loc(self, d, concept: str) -> str:
        w = self.writer
        organ = w.cat.concepts[concept].organ
        return (w.locations.get((d.report.region, organ)) or w.any_location[d.report.region]).draw(d.rnd)

    def _take_negatable(self, d) -> str | None:
        if not d.negatable:
            return None
        c = d.negatable[int(d.rnd() * len(d.negatable))]
        d.negatable.remove(c)
        return c

    # ------------------------------------------------------------------ sentences

    def negation(self, d) -> str | None:
        """A negated sentence in hard wording or as a long list, or None (the easy one)."""
        rnd = d.rnd
        u = rnd()
        if u < self.p["p_long_list"] and len(d.negatable) >= self.list_len[0]:
            lo, hi = self.list_len
            n = min(len(d.negatable), lo + int(rnd() * (hi - lo + 1)))
            chosen = d.rng.sample(d.negatable, n)
            for c in chosen:
                d.negatable.remove(c)
            surfaces = [d.surface(c) for c in chosen]
            items = [self.list_items.draw(rnd).format(term=s, loc=self._loc(d, c), sev=self.writer.severity.draw(rnd))
                     for c, s in zip(chosen, surfaces)]
            text = ", ".join(items[:-1]) + ", or " + items[-1]
            sentence = _cap(self.list_leads.draw(rnd).format(items=text))
            for c, s in zip(chosen, surfaces):
                d.mention(sentence, s, c, "absent", "long_list")
            return sentence
        if u < self.p["p_long_list"] + self.p["p_negation_wording"]:
            k = 1 + int(rnd() * min(2, len(d.negatable)))
            chosen = d.rng.sample(d.negatable, k)
            for c in chosen:
                d.negatable.remove(c)
            surfaces = [d.surface(c) for c in chosen]
            joined = surfaces[0] if k == 1 else f"{surfaces[0]} or {surfaces[1]}"
            sentence = self.negation_templates.draw(rnd).format(terms=joined, terms_cap=_cap(joined))
            for c, s in zip(chosen, surfaces):
                d.mention(sentence, s, c, "absent", "negation_wording")
            return sentence
        return None

    def layout(self, d, sentence: str, surfaces: list[str]) -> tuple[str, str]:
        """An easy negated sentence, sometimes hard-wrapped (never inside one of its
        ``surfaces``) or without its full stop."""
        u = d.rnd()
        if u < self.p["p_wrap"]:
            low = sentence.lower()
            inside = {i for s in surfaces for start in [low.find(s.lower())] if start >= 0
                      for i in range(start, start + len(s))}
            cuts = [i for i, ch in enumerate(sentence) if ch == " " and i not in inside]
            if cuts:
                cut = cuts[int(d.rnd() * len(cuts))]
                return sentence[:cut] + "\n" + sentence[cut + 1:], "wrapped_line"
        elif u < self.p["p_wrap"] + self.p["p_missing_period"] and sentence.endswith("."):
            return sentence[:-1], "missing_period"
        return sentence, "negation"

    def hedge_after(self, d, chosen: list[str], surfaces: list[str], loc: str) -> bool:
        """The differential hedged after its terms (at most two of them)."""
        if d.rnd() >= self.p["p_hedge_after"]:
            return False
        chosen, surfaces = chosen[:2], surfaces[:2]
        joined = surfaces[0] if len(surfaces) == 1 else f"{surfaces[0]} or {surfaces[1]}"
        sentence = self.hedge_templates.draw(d.rnd).format(terms_cap=_cap(joined), loc=loc)
        d.findings.append(sentence)
        for c, s in zip(chosen, surfaces):
            d.mention(sentence, s, c, "uncertain", "hedge_after")
        return True

    def pseudo_negation(self, d, concept: str, surface: str, loc: str) -> str | None:
        """A secondary present finding written around a pseudo-negation (the sentence), or None."""
        if d.rnd() >= self.p["p_pseudo_negation"]:
            return None
        sentence = self.pseudo_templates.draw(d.rnd).format(term=surface, loc=loc)
        d.mention(sentence, surface, concept, "present", "pseudo_negation")
        return sentence

    def question(self, d) -> None:
        """HISTORY asks to evaluate for a finding that the case does not have: uncertain."""
        if d.rnd() >= self.p["p_question"]:
            return
        pool = [c for c in d.region.negatable if c not in d.present]
        if not pool:
            return
        concept = pool[int(d.rnd() * len(pool))]
        surface = d.surface(concept)
        sentence = self.question_templates.draw(d.rnd).format(term=surface, term_cap=_cap(surface))
        d.history.append(sentence)
        d.mention(sentence, surface, concept, "uncertain", "question")
        d.present.add(concept)  # asked about once: not also negated in the same report

    def mixed(self, d) -> None:
        """One sentence with a present finding and an absent one."""
        if d.rnd() >= self.p["p_mixed"]:
            return
        absent = self._take_negatable(d)
        if absent is None:
            return
        present = d.report.findings[int(d.rnd() * len(d.report.findings))]
        ps, as_ = d.surface(present), d.surface(absent)
        sev = self.writer.severity.draw(d.rnd)
        sentence = self.mixed_templates.draw(d.rnd).format(
            present=ps, present_cap=_cap(ps), absent=as_, sev=sev, sev_cap=_cap(sev), loc=self._loc(d, present))
        d.negations.append(sentence)
        d.mention(sentence, ps, present, "present", "mixed")
        d.mention(sentence, as_, absent, "absent", "mixed")

    def normal_statement(self, d) -> None:
        """A normal statement that rules out a finding the case does not have."""
        if d.rnd() >= self.p["p_normal_statement"]:
            return
        options = [e for e in self.normals.get(d.report.region, ())
                   if not any(contradicts(c, d.present) for c in [e["concept"], *(c for _, c, _ in e["slots"])])]
        if not options:
            return
        entry = options[int(d.rnd() * len(options))]
        d.present.add(entry["concept"])
        d.negations.append(entry["text"])
        d.mention(entry["text"], entry["term"], entry["concept"], "absent", "normal_statement")
        for surface, concept, status in entry["slots"]:
            d.mention(entry["text"], surface, concept, status, "normal_statement")

    def distractor(self, d) -> None:
        """One sentence that looks like a reference or a sentence end and is neither."""
        rnd = d.rnd
        if rnd() >= self.p["p_distractor"]:
            return
        kind = DISTRACTORS[int(rnd() * len(DISTRACTORS))]
        hh, mm = 7 + int(rnd() * 12), int(rnd() * 60)
        s, n = d.report.series[int(rnd() * len(d.report.series))]
        size, _ = d.size((4.0, 30.0))
        year = 2005 + int(rnd() * 9)
        sentence = self.distractors[kind].draw(rnd).format(
            name=self.names.draw(rnd), hh=f"{hh:02d}", mm=f"{mm:02d}", hh2=f"{hh:02d}", mm2=f"{min(59, mm + 1 + int(rnd() * 9)):02d}",
            a=2 + int(rnd() * 4), b=1 + int(rnd() * 2), vol=10 + int(rnd() * 40), issue=1 + int(rnd() * 12),
            date=f"{1 + int(rnd() * 12):02d}/{1 + int(rnd() * 28):02d}/{year}", size=size, s=s, i=1 + int(rnd() * n))
        if kind in ("prior_exam_ref", "ratio"):
            d.negations.append(sentence)
        else:
            d.impression.append(sentence)
        d.report.distractors.append((sentence, kind))

    def unarchived(self, d, ref: str, cited: list[tuple[int, int, bool]]
                   ) -> tuple[str, list[tuple[int, int, bool]], bool]:
        """Sometimes move a one-image reference to a series the archive does not hold."""
        if len(cited) != 1 or not cited[0][2] or d.rnd() >= self.p["p_unarchived"]:
            return ref, cited, True
        series, instance, _ = cited[0]
        other = max(s for s, _ in d.report.series) + 1 + int(d.rnd() * 5)
        # the series number follows its keyword ("series 3", "Se 3") or opens "(3:45)"
        new, n = _SERIES_WRITTEN.subn(lambda m: f"{m.group(1)}{other}" if m.group(2) == str(series) else m.group(0),
                                      ref, count=1)
        if n == 0 or new == ref:
            return ref, cited, True
        return new, [(other, instance, True)], False

    def numbered(self, d, impression: list[str]) -> list[str]:
        """The impression as a numbered list (one item per line), sometimes."""
        if len(impression) < 2 or d.rnd() >= self.p["p_numbered"]:
            return impression
        numbered = [f"{k}. {s}" for k, s in enumerate(impression, 1)]
        rows = d.report.mentions
        for j, row in enumerate(rows):  # the truth's sentences are the numbered ones
            if row[0] in impression:
                k = impression.index(row[0])
                rows[j] = (numbered[k], row[1], row[2], row[3], "numbered_list")
        d.report.distractors[:] = [(numbered[impression.index(s)], p) if s in impression else (s, p)
                                   for s, p in d.report.distractors]
        return ["\n".join(numbered)]

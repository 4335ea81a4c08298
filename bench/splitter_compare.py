"""pacsmine's radiology sentence splitter against a general one (pysbd) on real reports.

Usage::

    .venv/bin/python bench/splitter_compare.py [--examples 3]

Corpora (skipped when ../shared/data is absent): the IU chest X-ray reports
(indication, findings, impression), the CT findings reports, and a small set of
hand-made hard cases with their expected sentences. Real reports have no gold
sentence boundaries, so each splitter's output is checked for the failure kinds
that can be seen in it:

* ``decimal``     - a cut inside a number ("2." | "5 mm")
* ``abbreviation``- a cut right after an abbreviation ("Dr." | "Smith", "approx." | "5")
* ``reference``   - a cut inside a key-image reference's parentheses, or a
                    reference left alone as a sentence ("(series 3, image 45).")
* ``list_marker`` - a numbered-list marker alone as a sentence ("1.")
* ``header``      - an upper-case header ("IMPRESSION:", "LUNGS:") inside a sentence
* ``missed``      - a missed boundary: "word. Capital" inside one sentence, or a
                    line break between a full stop and a capital inside one sentence

Prints, for each splitter and corpus, sentences produced, the count of each failure
kind, how many sentences the two splitters agree on, and examples of each failure.
Both splitters are timed on the same text.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PACSMINE_SHARED_DATA", REPO.parent / "shared" / "data"))

HARD_CASES = [
    ("A 2.5 mm nodule. No effusion.", ["A 2.5 mm nodule.", "No effusion."]),
    ("Seen e.g. in the apex. Dr. Smith agreed.", ["Seen e.g. in the apex.", "Dr. Smith agreed."]),
    ("Measures approx. 5 mm. Stable.", ["Measures approx. 5 mm.", "Stable."]),
    ("Injected at 2 cc/s. Then imaged.", ["Injected at 2 cc/s.", "Then imaged."]),
    ("Stable since Jan. 5, 2012. No change.", ["Stable since Jan. 5, 2012.", "No change."]),
    ("1. No pneumonia. 2. Small effusion.", ["1. No pneumonia.", "2. Small effusion."]),
    ("Mass (series 3, image 45). Cyst (ser. 4, img. 87). Stable.", ["Mass (series 3, image 45).", "Cyst (ser. 4, img. 87).", "Stable."]),
    ("Image no. 45 shows it. Fine.", ["Image no. 45 shows it.", "Fine."]),
    ("Heart normal\nLungs clear", ["Heart normal", "Lungs clear"]),
    ("Nodule in the upper lobe,\nunchanged. No effusion.", ["Nodule in the upper lobe,\nunchanged.", "No effusion."]),
    ("LUNGS: Clear. PLEURA: Normal.", ["LUNGS: Clear.", "PLEURA: Normal."]),
]

_ABBREV = re.compile(r"(?:\b(?:dr|e\.g|i\.e|approx|vs|no|ser|img|im|fig|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|mr|mrs|ms)\.)$", re.I)
_MISSED = re.compile(r"[a-z]{3,}[.!?]\s+[A-Z][a-z]|[.!?][ \t]*\n[ \t]*[A-Z]")
_HEADER_INSIDE = re.compile(r"[a-z.,;]\s+[A-Z][A-Z/ ]{2,30}:")
_REFERENCE_ALONE = re.compile(r"^\(\s*(?:se|ser|series|im|img|image)\b[^()]*\)\.?$|^\(\d{1,4}\s?:\s?\d+\)\.?$", re.I)


def failures(sentences: list[str]) -> dict[str, list[str]]:
    """Failure kinds visible in one document's sentences -> examples."""
    found: dict[str, list[str]] = defaultdict(list)
    for i, s in enumerate(sentences):
        nxt = sentences[i + 1] if i + 1 < len(sentences) else ""
        pair = f"{s[-40:]!r} | {nxt[:30]!r}"
        if re.search(r"\d\.$", s) and re.match(r"\d", nxt) and not re.match(r"\d{1,2}\.\s", nxt) and not re.fullmatch(r"\s*\d{1,2}\.", s):
            found["decimal"].append(pair)
        if _ABBREV.search(s):
            found["abbreviation"].append(pair)
        if s.count("(") > s.count(")") or _REFERENCE_ALONE.match(s.strip()):
            found["reference"].append(pair)
        if re.fullmatch(r"\s*\(?\d{1,2}[.)]\s*", s):
            found["list_marker"].append(pair)
        if _HEADER_INSIDE.search(s):
            found["header"].append(repr(s[:80]))
        if _MISSED.search(s):
            found["missed"].append(repr(s[:100]))
    return found


def iu_documents() -> list[str]:
    path = DATA / "iu_xray" / "indiana_reports.csv"
    if not path.exists():
        return []
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r[k] for r in rows for k in ("indication", "findings", "impression") if r.get(k)]


def ct_documents() -> list[str]:
    folder = DATA / "ct_findings" / "reports"
    if not folder.exists():
        return []
    docs = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text("utf-8")
        if "```text" in text:
            docs.append(text.split("```text", 1)[1].split("```", 1)[0].strip())
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()

    import pysbd

    from pacsmine.nlp.sections import SectionSplitter
    from pacsmine.nlp.sentences import SentenceSplitter

    sections, ours = SectionSplitter(), SentenceSplitter()
    seg = pysbd.Segmenter(language="en", clean=False)

    def split_ours(text: str) -> list[str]:
        return [text[s:e] for g in sections.split(text) for s, e in ours.spans(text, g.start, g.end)]

    def split_pysbd(text: str) -> list[str]:
        return [s.strip() for s in seg.segment(text) if s.strip()]

    splitters = {"pacsmine": split_ours, "pysbd": split_pysbd}

    print("hard cases (expected sentences written by hand):")
    for name, fn in splitters.items():
        right = 0
        for text, expected in HARD_CASES:
            got = fn(text)
            if got == expected:
                right += 1
            elif args.examples:
                print(f"  {name} wrong on {text!r}: {got}")
        print(f"  {name}: {right}/{len(HARD_CASES)} right")

    corpora = {"iu_xray": iu_documents(), "ct_findings": ct_documents()}
    for corpus, docs in corpora.items():
        if not docs:
            print(f"\n{corpus}: absent ({DATA}), skipped")
            continue
        print(f"\n{corpus}: {len(docs)} texts")
        outputs = {}
        for name, fn in splitters.items():
            t0 = time.perf_counter()
            outputs[name] = [fn(d) for d in docs]
            seconds = time.perf_counter() - t0
            kinds: Counter[str] = Counter()
            examples: dict[str, list[str]] = defaultdict(list)
            for sentences in outputs[name]:
                for kind, found in failures(sentences).items():
                    kinds[kind] += len(found)
                    examples[kind].extend(found[: args.examples - len(examples[kind])])
            n = sum(len(s) for s in outputs[name])
            print(f"  {name:8s}: {n} sentences in {seconds:.2f} s ({len(docs) / seconds:.0f} texts/s); failures: "
                  + (", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none seen"))
            for kind, exs in sorted(examples.items()):
                for ex in exs:
                    print(f"      {kind}: {ex}")
        same = sum(len({" ".join(x.split()) for x in a} & {" ".join(x.split()) for x in b})
                   for a, b in zip(outputs["pacsmine"], outputs["pysbd"]))
        total = sum(len(a) for a in outputs["pacsmine"])
        print(f"  sentences identical in both: {same} of pacsmine's {total}")


if __name__ == "__main__":
    main()

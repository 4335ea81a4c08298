"""Corpus statistics: counts merge across batches; tables and Markdown."""

from __future__ import annotations

import json

from pacsmine.nlp.stats import CorpusCounts, tables, to_markdown
from pacsmine.nlp.tokens import Vocabulary


def counts_of(reports):
    c = CorpusCounts(frozenset({"the", "is"}))
    for modality, sentences, refs, terms in reports:
        words = [s.split() for s in sentences]
        tokens = [w for ws in words for w in ws if len(w) >= 3]
        c.add_report(modality, words, tokens, terms, refs)
    return c


REPORTS = [
    ("CT", ["the nodule is 5", "no effusion"], [True, False], [0, 1]),
    ("MR", ["the liver cyst"], [False], [1]),
    ("CT", ["mass 3 4"], [True], [0]),
]


def test_tables_from_counts():
    c = counts_of(REPORTS)
    c.add_key_image("CT")
    stats = tables(c, Vocabulary(min_doc_freq=1, drop_top=0).fit_counts(c.doc_freq, c.term_freq, c.documents),
                   {"total": 7, "by_modality": {"CT": 5, "MR": 2}}, {"sentences": 4, "key_images": 1})
    t1, t2, t4 = stats["table1"], stats["table2"], stats["table4"]
    assert t1["documents"] == 3 and t1["words"] == 12 and t1["vocabulary"] == 11
    assert t1["words_per_document"] == 4.0 and t1["images"] == 7
    assert t1["most_frequent_words"][0] == ["the", 2]
    assert ["the", 2] not in t1["most_frequent_content_words"]
    assert t2 == {"CT": {"documents": 2, "images": 5, "key_images": 1}, "MR": {"documents": 1, "images": 2, "key_images": 0}}
    assert t4["all"] == {"sentences": 4, "words": 3.0, "without_stopwords_digits": 1.5, "disease_terms": 0.5}
    # Reference sentences: "the nodule is 5" (content: nodule) and "mass 3 4" (content: mass).
    assert t4["reference"] == {"sentences": 2, "words": 3.5, "without_stopwords_digits": 1.0, "disease_terms": 0.0}
    md = to_markdown(stats)
    assert "| CT | 2 | 5 | 1 |" in md and "image-reference sentences" in md


def test_merge_of_batches_equals_one_pass():
    whole = counts_of(REPORTS)
    merged = CorpusCounts(frozenset({"the", "is"}))
    for part in (REPORTS[:1], REPORTS[1:]):
        merged.merge_json(json.loads(json.dumps(counts_of(part).to_json())))
    assert merged.to_json() == whole.to_json()

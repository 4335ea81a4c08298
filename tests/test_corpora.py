"""Readers of the real data sets (pacsmine.nlp.corpora), on small hand-made files and, where
present, on ../shared/data."""

from __future__ import annotations

import json

from conftest import shared_file
from pacsmine.nlp.corpora import read_ct_findings, read_finding_synonyms, read_iu_reports

MD = """# Report Text

```text
PLEURA: No effusion.
```

## Extracted Findings

- [pleural effusion](a.md) \\[RID1\\]
  - presence: absnet
- nodule
  - size: 3 mm
- thing
  - presence: unknown

## Composite Negative Statements

- not a finding
"""


MD_KEYS = """```text
x
```

## Extracted Findings

- cardiomegaly
  - Presence: absent
- pleural effusion
  - present: absent
- nodule
  - presence absent
- mass
  - presence; absent
- pneumothorax
  - absent
- [emphysema](e.md)
  - size: 3 mm
  - [pericardial effusion](p.md)
  - severity: absent
- granuloma
  - presentation: typical
"""


def test_read_ct_findings_reads_the_presence_key_as_the_extractions_write_it(tmp_path):
    (tmp_path / "r.md").write_text(MD_KEYS, encoding="utf-8")
    (report,) = read_ct_findings(tmp_path)
    # A mis-indented linked finding is a finding; "severity: absent" is absent; "presentation"
    # is no presence key, so the granuloma stays present.
    assert report["findings"] == [("cardiomegaly", "absent"), ("pleural effusion", "absent"), ("nodule", "absent"),
                                  ("mass", "absent"), ("pneumothorax", "absent"), ("emphysema", "present"),
                                  ("pericardial effusion", "absent"), ("granuloma", "present")]


def test_read_ct_findings(tmp_path):
    (tmp_path / "r1.md").write_text(MD, encoding="utf-8")
    (tmp_path / "r2.md").write_text("no text block", encoding="utf-8")
    reports = list(read_ct_findings(tmp_path))
    assert len(reports) == 1
    assert reports[0]["report"] == "r1" and reports[0]["text"].strip() == "PLEURA: No effusion."
    assert reports[0]["findings"] == [("pleural effusion", "absent"), ("nodule", "present")]


def test_read_iu_reports(tmp_path):
    path = tmp_path / "iu.csv"
    path.write_text("uid,MeSH,Problems,image,indication,comparison,findings,impression\n"
                    "1,normal,normal,PA,,,No effusion.,Normal.\n"
                    '2,"Opacity/lung;Pneumonia",Opacity;Pneumonia,PA,,,Opacity.,Pneumonia.\n'
                    "3,normal,normal,PA,,,,\n", encoding="utf-8")
    rows = list(read_iu_reports(path))
    assert [r["report"] for r in rows] == ["1", "2"]
    assert rows[0]["normal"] and rows[0]["problems"] == set() and rows[0]["text"] == "No effusion. Normal."
    assert rows[1]["problems"] == {"opacity", "pneumonia"} and rows[1]["mesh"] == ["Opacity/lung", "Pneumonia"]


def test_read_finding_synonyms(tmp_path):
    (tmp_path / "b.fm.json").write_text(json.dumps({"name": "cardiomegaly", "synonyms": ["enlarged heart"]}))
    (tmp_path / "a.fm.json").write_text(json.dumps({"name": "atelectasis"}))
    (tmp_path / "c.fm.json").write_text(json.dumps({"synonyms": ["x"]}))
    assert read_finding_synonyms(tmp_path) == [["atelectasis"], ["cardiomegaly", "enlarged heart"]]


def test_real_sets_read():
    reports = list(read_ct_findings(shared_file("ct_findings/reports")))
    assert len(reports) == 140
    assert sum(len(r["findings"]) for r in reports) > 2000
    groups = read_finding_synonyms(shared_file("vocabularies/finding_models/defs"))
    assert len(groups) == 2382

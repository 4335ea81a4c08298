"""The CheXpert labeler's phrase lists (stanfordmlgroup/chexpert-labeler) as a vocabulary layer.

In: the folder holding ``phrases/mention/*.txt`` and ``phrases/unmention/*.txt`` (or the
``phrases`` folder itself). Each mention file is one observation ("pleural_effusion.txt":
code "CHEXPERT:pleural_effusion", name "pleural effusion"), one phrase a line. The file
``no_finding.txt`` lists findings that do not count against "No Finding" (emphysema,
scoliosis, hernia ...): each of its phrases is its own concept (code
"CHEXPERT:no_finding:emphysema"). Unmention phrases ("pericardial effusion", "massive")
become the layer's stop phrases. CheXpert matches its phrases as substrings, so a phrase's
last word may be a stem ("atelecta", "consolidat"): the layer is marked ``prefixes`` and
the matcher completes such stems. Underscores mark word boundaries in the files
("_line_") and are dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import Concept, Layer

__all__ = ["load_chexpert"]


def _phrases(path: Path) -> list[str]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        phrase = " ".join(line.replace("_", " ").split())
        if phrase and not phrase.startswith("#"):
            out.append(phrase)
    return out


def load_chexpert(folder: str | os.PathLike[str], source: str) -> Layer:
    """Read the mention and unmention phrase files under ``folder`` as layer ``source``."""
    folder = Path(folder)
    base = folder / "phrases" if (folder / "phrases").is_dir() else folder
    mention = sorted((base / "mention").glob("*.txt"))
    if not mention:
        raise FileNotFoundError(f"no CheXpert mention phrases (mention/*.txt) in {base}")
    concepts: dict[str, Concept] = {}
    for path in mention:
        phrases = _phrases(path)
        if path.stem == "no_finding":
            for phrase in phrases:
                code = f"CHEXPERT:no_finding:{phrase}"
                concepts[code] = Concept(code, phrase)
            continue
        code = f"CHEXPERT:{path.stem}"
        concepts[code] = Concept(code, path.stem.replace("_", " "), tuple(phrases))
    stops = [p for path in sorted((base / "unmention").glob("*.txt")) for p in _phrases(path)]
    return Layer(source, concepts, stop_phrases=tuple(dict.fromkeys(stops)), prefixes=True, path=str(base))

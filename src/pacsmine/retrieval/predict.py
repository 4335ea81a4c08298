"""``pacsmine predict IMAGE... --workspace WS``: what the workspace's models say about new images.

For each file:

1. Read as ingest reads it: DICOM (pydicom; first frame; the window of its tags, else the
   modality's default window, else percentiles: ``ingest.image``) or PNG/JPEG (8-bit grey
   kept as it is), fitted to ingest's square (``ingest.image.size``), then resized to the
   models' input square as the images stage decodes its PNGs.
2. Topics: each level's classifier of ``retrieval.arch`` (images/models/<arch>/<level>), the
   best ``predict.topics`` topics with their probability and top words.
3. Keywords: the bigram regression model of ``regression.keywords_loss``, one keyword per
   level among the best topic's candidates (:mod:`.keywords`).
4. Neighbours: the nearest key images of the archive by the contrastive image embedding
   (the stage's index), with their referring sentence; and the nearest referring sentences
   by the contrastive text encoder.

A file that cannot be read as an image gives ``{"image": path, "error": "..."}`` and the others
are still answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow.parquet as pq

from ..workspace import Workspace

__all__ = ["predict", "read_image", "Predictor"]

LEVELS = ("level1", "level2", "level3")


def read_image(path: str | Path, image_cfg: dict[str, Any]) -> np.ndarray:
    """uint8 (size, size) grey square of a DICOM, PNG or JPEG file, as ingest makes it; a
    ValueError saying why for anything else."""
    from ..ingest.raster import Normaliser, Window

    path = Path(path)
    if not path.is_file():
        raise ValueError("no such file")
    normaliser = Normaliser.from_config(image_cfg)
    with open(path, "rb") as fh:
        head = fh.read(132)
    if head[128:132] == b"DICM" or path.suffix.lower() in (".dcm", ".dicom"):
        from ..ingest.dicom import read_dicom

        try:
            image = read_dicom(path, max_frames=1)
        except Exception as exc:  # pydicom raises many kinds; the caller reports one line
            raise ValueError(f"not a readable DICOM image ({type(exc).__name__}: {exc})") from None
        if not image.frames:
            raise ValueError("DICOM file without pixel data")
        pixels, _ = normaliser(image.frames[0], modality=image.modality, tag_window=image.window, invert=image.invert)
        return pixels
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I", "I;16", "F"):
                pixels, _ = normaliser(np.asarray(img, dtype=np.float64))
                return pixels
            arr = np.asarray(img.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"not an image ({type(exc).__name__})") from None
    pixels, _ = normaliser(arr, window=Window(0.0, 255.0))
    return pixels


def _model_input(square: np.ndarray, resize: int) -> np.ndarray:
    """uint8 (1, resize, resize): the square resized as images.cache.decode_png resizes a PNG."""
    from PIL import Image

    im = Image.fromarray(square, mode="L").resize((resize, resize), Image.BILINEAR)
    return np.asarray(im, dtype=np.uint8)[None]


class Predictor:
    """The workspace's finished models, loaded once for many images."""

    def __init__(self, ws: Workspace, config: dict[str, Any]):
        from ..images.classifier import TopicClassifier
        from ..vectors import load_vectors
        from .contrastive import ContrastiveModel, mean_vectors
        from .evaluation import term_words
        from .keywords import candidates
        from .regression import BigramRegressor
        from .search import NeighbourIndex
        from .stage import _sentence_tokens

        ws.require("retrieval", "evaluation/retrieval.json")
        # The settings the workspace's models were made with (the manifests), not today's defaults.
        made = ws.manifest("retrieval")["config"]
        cfg = {**made, "predict": config["retrieval"]["predict"]}
        image_cfg = ((ws.manifest("ingest") or {}).get("config") or {}).get("image") or config["ingest"]["image"]
        self.cfg, self.image_cfg, self._candidates = cfg, image_cfg, candidates
        root = ws.stage_dir("retrieval")
        self.classifiers = {lv: TopicClassifier.load(ws.stage_dir("images") / "models" / cfg["arch"] / lv)
                            for lv in LEVELS if (ws.stage_dir("images") / "models" / cfg["arch"] / lv / "model.json").is_file()}
        self.words = {}
        for level in LEVELS:
            t = pq.read_table(ws.require("topics", f"{level}/topics.parquet"), columns=["topic", "top_words"])
            self.words[level] = dict(zip(t.column("topic").to_pylist(), t.column("top_words").to_pylist()))
        self.wv = load_vectors(ws)
        self.terms = term_words(ws) if cfg["keywords"]["terms_only"] else None
        self.regressor = BigramRegressor.load(root / "models" / f"regression-{cfg['regression']['keywords_loss']}")
        self.contrastive = ContrastiveModel.load(root / "models" / "contrastive")
        file = root / "index.faiss" if (root / "index.faiss").is_file() else root / "index.safetensors"
        self.index = NeighbourIndex.load(file, cfg["index"]["ef_search"])
        self.index_ids = pq.read_table(root / "index.parquet").column("image_id").to_pylist()
        keys, tokens = _sentence_tokens(ws, cfg)
        self.sentence_of: dict[str, str] = {}
        for k in keys:
            self.sentence_of.setdefault(k["image_id"], k["sentence"])
        # One row per sentence (a sentence citing two images is one sentence), first image kept.
        first: dict[tuple[str, int], int] = {}
        for n, k in enumerate(keys):
            first.setdefault((k["accession"], k["sentence_index"]), n)
        rows = sorted(first.values())
        self.sentences = [keys[n]["sentence"] for n in rows]
        self.sentence_images = [keys[n]["image_id"] for n in rows]
        self.sentence_emb = self.contrastive.encode_texts(
            mean_vectors([tokens[n] for n in rows], self.wv.index, self.wv.matrix))

    def __call__(self, paths: Sequence[str | Path]) -> list[dict[str, Any]]:
        from .keywords import level_keywords

        out: list[dict[str, Any]] = []
        squares, good = [], []
        for path in paths:
            try:
                squares.append(read_image(path, self.image_cfg))
                good.append(len(out))
                out.append({"image": str(path)})
            except ValueError as exc:
                out.append({"image": str(path), "error": str(exc)})
        if not squares:
            return out
        pcfg = self.cfg["predict"]
        best: dict[str, list[str | None]] = {}
        topics: list[dict[str, Any]] = [{} for _ in squares]
        for level, model in self.classifiers.items():
            scores = model.predict_scores(np.stack([_model_input(s, model.resize) for s in squares]))
            best[level] = []
            for n, row in enumerate(scores):
                order = np.argsort(-row, kind="stable")[:int(pcfg["topics"])]
                topics[n][level] = [{"topic": model.classes[c], "p": float(row[c]),
                                     "top_words": list(self.words[level].get(model.classes[c]) or [])[:int(pcfg["top_words"])]}
                                    for c in order]
                best[level].append(model.classes[order[0]])
        outputs = self.regressor.predict(np.stack([_model_input(s, self.regressor.resize) for s in squares]))
        emb = self.contrastive.encode_images(np.stack([_model_input(s, self.contrastive.resize) for s in squares]))
        scores, rows = self.index.search(emb, int(self.cfg["index"]["neighbours"]))
        sims = emb @ self.sentence_emb.T
        top = int(self.cfg["keywords"]["top_words"])
        for n, slot in enumerate(good):
            cands = [self._candidates(self.words[lv].get(best[lv][n]) or [], self.wv.index, top, self.terms)
                     if lv in best else [] for lv in LEVELS]
            keys = level_keywords(outputs[n], cands, self.wv.index, self.wv.matrix)
            order = np.argsort(-sims[n], kind="stable")[:int(pcfg["sentences"])]
            out[slot].update({
                "topics": topics[n],
                "keywords": [w for w, _ in keys if w is not None],
                "neighbours": [{"image_id": self.index_ids[r], "sentence": self.sentence_of.get(self.index_ids[r]),
                                "score": float(s)} for s, r in zip(scores[n], rows[n]) if r >= 0],
                "sentences": [{"image_id": self.sentence_images[j], "sentence": self.sentences[j],
                               "score": float(sims[n, j])} for j in order],
            })
        return out


def predict(paths: Sequence[str | Path], workspace: str | Path | Workspace, config: dict[str, Any] | None = None
            ) -> list[dict[str, Any]]:
    """One dict per path (see the module docstring; ``{"image", "error"}`` for a file that is not an
    image). ``config``: the full config (default: the packaged defaults)."""
    from ..config import load_config

    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    return Predictor(ws, config if config is not None else load_config())(paths)

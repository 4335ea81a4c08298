"""Image models II: from a key image to disease words (Shin et al., CVPR 2015, Sections 5.2
to 5.4, Figure 8), and a contrastive image-text model.

- :func:`run_retrieval`: the stage (``pacsmine retrieval --workspace WS``);
- :func:`evaluate_retrieval`: its figures for ``pacsmine evaluate``;
- :mod:`.targets`, :mod:`.tables`: bigram regression targets (two terms' word vectors side by side);
- :mod:`.losses`: the paper's equation 2 (sigmoid cross-entropy) and a cosine loss;
- :mod:`.regression`: :class:`BigramRegressor`, the 512-output CNN;
- :mod:`.keywords`: keywords by retrieval in the word-vector space, recall at K;
- :mod:`.contrastive`: :class:`ContrastiveModel` (image encoder, MLP over mean word vectors, InfoNCE);
- :mod:`.search`: R@K, the random baseline, exact and faiss nearest-neighbour search.

See docs/retrieval.md.
"""

from __future__ import annotations

import importlib

__all__ = ["run_retrieval", "evaluate_retrieval", "build_targets", "image_bigrams", "target_vectors",
           "BigramRegressor", "ContrastiveModel", "NeighbourIndex"]

# Imported on first use: torch and faiss load only when a network or an index is needed.
_WHERE = {"run_retrieval": ".stage", "evaluate_retrieval": ".evaluation", "build_targets": ".tables",
          "image_bigrams": ".targets", "target_vectors": ".targets", "BigramRegressor": ".regression",
          "ContrastiveModel": ".contrastive", "NeighbourIndex": ".search"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

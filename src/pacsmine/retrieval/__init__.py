"""Image models II: from a key image to disease words (Shin et al., CVPR 2015, Sections 5.2
to 5.4, Figure 8).

- :mod:`.targets`: bigram regression targets (two terms' word vectors side by side);
- :mod:`.tables`: a workspace's key-image terms, targets and splits;
- :mod:`.losses`: the paper's equation 2 (sigmoid cross-entropy) and a cosine loss;
- :mod:`.keywords`: keywords by retrieval in the word-vector space, recall at K.

See docs/retrieval.md.
"""

from __future__ import annotations

import importlib

__all__ = ["build_targets", "image_bigrams", "target_vectors"]

# Imported on first use: torch loads only when a network is needed.
_WHERE = {"build_targets": ".tables", "image_bigrams": ".targets", "target_vectors": ".targets"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Word vectors of the report text (Shin et al., CVPR 2015, section 5.1).

- :func:`run_vectors`: the stage (``pacsmine vectors --workspace WS``): word2vec (gensim,
  skip-gram, hierarchical softmax) on the report sentences, each multi-word term one token;
- :func:`load_vectors`: a workspace's vectors as :class:`WordVectors` (safetensors and
  Parquet, never unpickled), with ``most_similar`` by cosine;
- :func:`evaluate_vectors`: term coverage, and precision@5 against a phantom's truth.

See docs/vectors.md.
"""

from __future__ import annotations

from ..lazy import lazy_exports

__all__ = ["run_vectors", "evaluate_vectors", "load_vectors", "WordVectors", "lookup_key"]

# Imported on first use: gensim loads only when vectors are trained, not for `pacsmine --help`.
_WHERE = {"run_vectors": ".stage", "evaluate_vectors": ".evaluate", "load_vectors": ".keyed",
          "WordVectors": ".keyed", "lookup_key": ".keyed"}

__getattr__ = lazy_exports(__name__, _WHERE)

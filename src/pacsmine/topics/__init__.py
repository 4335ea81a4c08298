"""Topic mining at three levels (Shin et al., CVPR 2015, section 4).

- :func:`run_topics`: the stage (``pacsmine topics --workspace WS``);
- :func:`infer_reports`: label new reports with the saved models (``pacsmine topics infer``);
- :func:`evaluate_topics`: NMI / ARI / purity of level-1 labels against a phantom's case types;
- :class:`TopicModel`: the LDA estimator (tomotopy) the levels are built from.

See docs/topics.md.
"""

from __future__ import annotations

from ..lazy import lazy_exports

__all__ = ["run_topics", "infer_reports", "evaluate_topics", "TopicModel", "ParquetCorpus"]

# Imported on first use, as pacsmine.nlp does: tomotopy loads only when a topic model is
# needed, not when the CLI checks the topics settings (topics.selection) at start-up.
_WHERE = {"run_topics": ".stage", "infer_reports": ".infer", "evaluate_topics": ".evaluate",
          "TopicModel": ".lda", "ParquetCorpus": ".lda"}

__getattr__ = lazy_exports(__name__, _WHERE)

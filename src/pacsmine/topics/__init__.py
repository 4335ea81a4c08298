"""Topic mining at three levels (Shin et al., CVPR 2015, section 4).

- :func:`run_topics`: the stage (``pacsmine topics --workspace WS``);
- :func:`infer_reports`: label new reports with the saved models (``pacsmine topics infer``);
- :func:`evaluate_topics`: NMI / ARI / purity of level-1 labels against a phantom's case types;
- :class:`TopicModel`: the LDA estimator (tomotopy) the levels are built from.

See docs/topics.md.
"""

from .evaluate import evaluate_topics
from .infer import infer_reports
from .lda import ParquetCorpus, TopicModel
from .stage import run_topics

__all__ = ["run_topics", "infer_reports", "evaluate_topics", "TopicModel", "ParquetCorpus"]

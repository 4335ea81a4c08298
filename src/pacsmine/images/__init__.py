"""Image models I: the key-image data set and CNNs from key images to topics
(Shin et al., CVPR 2015, Section 4, Table 3, Figure 5).

- :func:`run_images`: the stage (``pacsmine train --workspace WS``);
- :func:`evaluate_images`: Table 3's test accuracies for ``pacsmine evaluate``, and on a
  phantom or a labelled export how well the predicted topic carries the true region/finding;
- :class:`TopicClassifier`: the trainer of one topic level (safetensors checkpoints);
- :mod:`.networks`: the architectures (AlexNet-, VGG-style, EfficientNet-Lite0).

See docs/images.md.
"""

from __future__ import annotations

import importlib

__all__ = ["run_images", "evaluate_images", "TopicClassifier", "load_split", "load_classes"]

# Imported on first use: torch loads only when a network is needed.
_WHERE = {"run_images": ".stage", "evaluate_images": ".evaluate", "TopicClassifier": ".classifier",
          "load_split": ".evaluate", "load_classes": ".evaluate"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

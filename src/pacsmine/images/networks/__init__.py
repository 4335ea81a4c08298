"""The CNNs that learn topics from key images, in plain torch (no torchvision, no timm).

- :func:`build_network`: an AlexNet-style, a VGG-style or an EfficientNet-Lite0 network;
- :func:`replace_head`: swap a network's final Linear for a new one (transfer between levels);
- :func:`tflite_normalise`: the input normalisation of every architecture;
- ``ARCHITECTURES``: the names ``build_network`` takes.

Every network has ``forward(x) -> (N, num_classes)`` logits for float32 x of shape
(N, in_channels, H, W), H, W >= 32, already normalised; ``forward_features(x) -> (N, feature_dim)``,
the pooled embedding before the head; ``feature_dim: int``; ``head_name: str``, the attribute
holding the final ``nn.Linear``. This subpackage imports torch: import it only where a network is
needed (see docs/images.md, Networks).
"""

from __future__ import annotations

import torch
from torch import nn

from .alexnet import AlexNet
from .efficientnet_lite import EfficientNetLite0, load_imagenet_weights, stem_to_grey
from .vgg import VGG

__all__ = ["ARCHITECTURES", "PUBLISHED", "build_network", "replace_head", "tflite_normalise"]

ARCHITECTURES = ("alexnet", "vgg", "efficientnet_lite0")

# The options each architecture takes, with the value its paper publishes (used where the
# caller passes None). These are the architectures' constants; a run's choice lives in config.
PUBLISHED: dict[str, dict[str, float | str]] = {
    "alexnet": {"width": 1.0, "dropout": 0.5},
    "vgg": {"width": 1.0, "dropout": 0.5},
    "efficientnet_lite0": {"dropout": 0.2, "drop_connect": 0.2, "padding": "same"},
}
IMAGENET_CLASSES = 1000


def build_network(arch: str, num_classes: int, *, in_channels: int, pretrained: bool,
                  width: float | None = None, dropout: float | None = None,
                  drop_connect: float | None = None, padding: str | None = None) -> nn.Module:
    """A network for (N, in_channels, H, W) float32 input giving (N, num_classes) logits.

    ``pretrained``: ImageNet weights (efficientnet_lite0 only; in_channels 3, or 1 with the stem's
    RGB kernels summed); the head is new (random) unless num_classes is 1000. Options, each
    None for the architecture's published value (``PUBLISHED``), and a ValueError where the
    architecture has no such option: ``width`` (alexnet, vgg: multiplier of channels and FC
    units), ``dropout`` (all: rate before the FC layers), ``drop_connect`` (efficientnet_lite0:
    the last block's residual drop rate), ``padding`` (efficientnet_lite0: "same" as TF, or
    "symmetric" k//2). Random initialisation draws from torch's global generator: seed it with
    ``torch.manual_seed`` for a repeatable network.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHITECTURES)}")
    if num_classes < 1 or in_channels < 1:
        raise ValueError(f"num_classes and in_channels must be >= 1, not {num_classes}, {in_channels}")
    given = {"width": width, "dropout": dropout, "drop_connect": drop_connect, "padding": padding}
    extra = [k for k, v in given.items() if v is not None and k not in PUBLISHED[arch]]
    if extra:
        raise ValueError(f"{arch} has no option {', '.join(extra)} "
                         f"(it takes {', '.join(PUBLISHED[arch])})")
    options = {k: PUBLISHED[arch][k] if given[k] is None else given[k] for k in PUBLISHED[arch]}
    if pretrained and arch != "efficientnet_lite0":
        raise ValueError(f"no ImageNet weights for {arch}: only efficientnet_lite0 is pretrained")
    if arch == "alexnet":
        return AlexNet(num_classes, in_channels=in_channels, **options)
    if arch == "vgg":
        return VGG(num_classes, in_channels=in_channels, **options)
    if not pretrained:
        return EfficientNetLite0(num_classes, in_channels=in_channels, **options)
    if in_channels not in (1, 3):
        raise ValueError(f"ImageNet weights take 3 channels (or 1, summed), not {in_channels}")
    net = EfficientNetLite0(IMAGENET_CLASSES, in_channels=3, **options)
    load_imagenet_weights(net)
    if in_channels == 1:
        stem_to_grey(net)
    if num_classes != IMAGENET_CLASSES:
        replace_head(net, num_classes)
    return net


def replace_head(net: nn.Module, num_outputs: int) -> nn.Module:
    """Swap ``getattr(net, net.head_name)`` for a new ``nn.Linear(net.feature_dim, num_outputs)``
    (torch's default initialisation, on the old head's device and dtype); returns ``net``.
    Nothing else changes."""
    old = getattr(net, net.head_name)
    new = nn.Linear(net.feature_dim, num_outputs, device=old.weight.device, dtype=old.weight.dtype)
    setattr(net, net.head_name, new)
    return net


def tflite_normalise(x: torch.Tensor) -> torch.Tensor:
    """Pixel values in [0, 1] (any shape, float) -> (x*255 - 127) / 128, about [-0.99, 1.0].

    The normalisation the TF-Lite EfficientNet weights were trained with (their stem BatchNorm's
    running statistics match it, not ImageNet mean/std); used for every architecture."""
    return (x * 255.0 - 127.0) / 128.0

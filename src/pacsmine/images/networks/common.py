"""What the randomly initialised networks (AlexNet-style, VGG-style) share: width scaling and init."""

from __future__ import annotations

from torch import nn


def scaled(channels: int, width: float) -> int:
    """A layer's published channel count times ``width``, rounded, at least 8."""
    return max(8, round(channels * width))


def init_random(net: nn.Module) -> None:
    """He-normal convs (fan out), BatchNorm gamma 1 / beta 0, Linear normal(0, 0.01) and bias 0
    (the initialisation of torchvision's VGG, which trains these plain stacks from scratch)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)

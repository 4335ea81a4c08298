"""A VGG-style network (Simonyan & Zisserman 2015, configuration A = VGG-11), random init.

Layout, ``width`` scaling every layer's channels and FC units (1.0 = the paper's):
1. stacks of 3x3 convs (padding 1), each conv - BN - ReLU, a 2x2 max pool after each stack:
   (64) (128) (256, 256) (512, 512) (512, 512). The pool after a stack is skipped when the map
   is already 1 pixel, so any input >= 32 px works.
2. global average pooling to 1x1 instead of the paper's 7x7 grid: the paper's FC6 alone has
   102M weights (512*7*7*4096); pooled to 1x1 it has 2M, and the network ~28M at width 1.0
   (~7M at width 0.5), which a CPU trains.
3. dropout - FC 4096 - ReLU - dropout - FC 4096 - ReLU (``forward_features``, the embedding);
   FC ``num_classes`` (the head, ``fc8``).

BatchNorm after each conv (as VGG-11-BN): the paper trained configuration A first and
initialised the deeper ones from it because plain 3x3 stacks from random weights train badly;
BatchNorm removes that need.

Input: float32 (N, in_channels, H, W), H, W >= 32, normalised with ``tflite_normalise``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .common import init_random, scaled

STACKS = ((64,), (128,), (256, 256), (512, 512), (512, 512))
FC_WIDTH = 4096


class VGG(nn.Module):
    """VGG-11-style: ``forward`` (N, in_channels, H, W) -> (N, num_classes) logits.

    ``width``: multiplier of every conv's channels and the FC units. ``dropout``: rate before
    FC6 and FC7 (the paper's 0.5).
    """

    head_name = "fc8"

    def __init__(self, num_classes: int, *, in_channels: int, width: float, dropout: float):
        super().__init__()
        stacks = []
        cin = in_channels
        for stack in STACKS:
            layers: list[nn.Module] = []
            for channels in stack:
                cout = scaled(channels, width)
                layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                           nn.ReLU(inplace=True)]
                cin = cout
            stacks.append(nn.Sequential(*layers))
        self.stacks = nn.ModuleList(stacks)
        fc = scaled(FC_WIDTH, width)
        self.fc = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(cin, fc), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(fc, fc), nn.ReLU(inplace=True))
        self.fc8 = nn.Linear(fc, num_classes)
        self.feature_dim = fc
        init_random(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, feature_dim): the FC7 activations."""
        for stack in self.stacks:
            x = stack(x)
            if min(x.shape[-2:]) >= 2:
                x = F.max_pool2d(x, 2)
        return self.fc(x.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc8(self.forward_features(x))

"""An AlexNet-style network (Krizhevsky, Sutskever & Hinton 2012), random initialisation.

Layout (single-tower, widths of the paper's two towers together), ``width`` scaling every
layer's channels and FC units (1.0 = the paper's):
1. conv 11x11/4 (96) - BN - ReLU - maxpool 3/2; conv 5x5 (256) - BN - ReLU - maxpool 3/2;
   conv 3x3 (384) - BN - ReLU; conv 3x3 (384) - BN - ReLU; conv 3x3 (256) - BN - ReLU.
2. adaptive max pooling to 6x6 (the paper's third max pool gives 6x6 at 224 px): any input
   >= 32 px works. The first two max pools pad by 1 so that a 32 px input keeps a 1x1 map.
3. dropout - FC 4096 - ReLU - dropout - FC 4096 - ReLU (``forward_features``, the embedding);
   FC ``num_classes`` (the head, ``fc8``).

BatchNorm after each conv instead of local response normalisation: LRN gained the paper
1.2-1.4 points of top-1 on ImageNet, BatchNorm (Ioffe & Szegedy 2015) superseded it and makes
training from random initialisation on a few thousand key images converge at ordinary learning
rates; it is also the normalisation the EfficientNet beside it uses.

Input: float32 (N, in_channels, H, W), H, W >= 32, normalised with ``tflite_normalise``.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import init_random, scaled

CONV_WIDTHS = (96, 256, 384, 384, 256)
FC_WIDTH = 4096
POOL_GRID = 6


class AlexNet(nn.Module):
    """AlexNet-style: ``forward`` (N, in_channels, H, W) -> (N, num_classes) logits.

    ``width``: multiplier of every conv's channels and the FC units (1.0 = the paper's 61M
    parameters at 1000 classes). ``dropout``: rate before FC6 and FC7 (the paper's 0.5).
    """

    head_name = "fc8"

    def __init__(self, num_classes: int, *, in_channels: int, width: float, dropout: float):
        super().__init__()
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in CONV_WIDTHS)
        fc = scaled(FC_WIDTH, width)

        def conv(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False),
                    nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *conv(in_channels, c1, 11, 4), nn.MaxPool2d(3, 2, padding=1),
            *conv(c1, c2, 5), nn.MaxPool2d(3, 2, padding=1),
            *conv(c2, c3, 3), *conv(c3, c4, 3), *conv(c4, c5, 3),
            nn.AdaptiveMaxPool2d(POOL_GRID))
        self.fc = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * POOL_GRID * POOL_GRID, fc), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(fc, fc), nn.ReLU(inplace=True))
        self.fc8 = nn.Linear(fc, num_classes)
        self.feature_dim = fc
        init_random(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, feature_dim): the FC7 activations."""
        return self.fc(torch.flatten(self.features(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc8(self.forward_features(x))


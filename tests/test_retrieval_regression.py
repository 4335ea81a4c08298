"""BigramRegressor: fine-tuned from a topic classifier, 2 x dim outputs, each loss, resume,
repeatability, safetensors round trip. A small AlexNet-style net at 32 px keeps it fast."""

import numpy as np
import pytest
import torch

from pacsmine.retrieval.regression import BigramRegressor, mean_half_cosine

SETTINGS = dict(epochs=2, batch_size=8, optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4,
                head_lr_multiplier=10.0, bn_momentum=0.1, seed=5, flip=False)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def parent(tiny_level1_classifier):
    folder, model, images = tiny_level1_classifier
    targets = np.random.default_rng(1).normal(size=(16, 8)).astype(np.float32)
    return folder, model, images, targets


def regressor(parent, loss="sigmoid_cross_entropy", **changes):
    return BigramRegressor.from_parent(parent[0], dict(SETTINGS, **changes), loss=loss, outputs=8, device="cpu")


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_starts_from_the_classifier_body_with_a_new_regression_head(parent):
    model = regressor(parent)
    net = model.build()
    head = getattr(net, net.head_name)
    assert head.out_features == 8
    source = parent[1].net_.state_dict()
    prefix = net.head_name + "."
    body = {k: v for k, v in net.state_dict().items() if not k.startswith(prefix)}
    assert body and all(torch.equal(v, source[k]) for k, v in body.items())
    # input size and network options are the parent's
    assert (model.arch, model.resize, model.crop, model.in_channels) == ("alexnet", 36, 32, 1)


@pytest.mark.parametrize("loss", ["sigmoid_cross_entropy", "cosine"])
def test_each_loss_trains_and_round_trips(parent, loss, tmp_path):
    _, _, images, targets = parent
    model = regressor(parent, loss).fit(images, targets, images[:4], targets[:4], show_progress=False)
    out = model.predict(images[:5])
    assert out.shape == (5, 8) and out.dtype == np.float32
    assert len(model.history_) == 2 and model.best_epoch_ in (1, 2)
    assert model.best_val_cosine_ == pytest.approx(max(h["val_cosine"] for h in model.history_))
    loaded = BigramRegressor.load(model.save(tmp_path / loss))
    assert loaded.loss == loss
    assert np.array_equal(loaded.predict(images[:5]), out)


def test_seeded_runs_are_repeatable_and_resume_after_an_interruption(parent, tmp_path):
    _, _, images, targets = parent
    whole = regressor(parent).fit(images, targets, images[:4], targets[:4], show_progress=False)
    again = regressor(parent).fit(images, targets, images[:4], targets[:4], show_progress=False)
    assert same_weights(whole.net_, again.net_)

    def stop(epoch, batch):
        if epoch == 2 and batch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        regressor(parent).fit(images, targets, images[:4], targets[:4], checkpoint=tmp_path, on_batch=stop,
                              show_progress=False)
    resumed = regressor(parent).fit(images, targets, images[:4], targets[:4], checkpoint=tmp_path,
                                    show_progress=False)
    assert resumed.resumed_from_ == 1
    assert same_weights(resumed.net_, whole.net_)


def test_unknown_loss_is_an_error(parent):
    with pytest.raises(ValueError, match="loss"):
        regressor(parent, "l2")


def test_mean_half_cosine_by_hand():
    out = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 2.0, 0.0]])
    tgt = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    # row 1: halves 1 and 0; row 2: halves 1 and 1 -> mean (1 + 0 + 1 + 1) / 4
    assert mean_half_cosine(out, tgt) == pytest.approx(0.75)

"""TopicClassifier: head learning rate, seeded repeatability, resume after an interruption,
safetensors round trip, level-to-level transfer. A small AlexNet-style net at 32 px keeps it fast."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from pacsmine.images.checkpoint import read_state
from pacsmine.images.classifier import TopicClassifier

CLASSES = ["0", "1", "2"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make(classes=CLASSES, **changes):
    settings = dict(level="level1", in_channels=1, pretrained=False, resize=36, crop=32, flip=True, epochs=2, batch_size=8,
                    optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4, head_lr_multiplier=10.0, seed=3,
                    device="cpu", network={"width": 0.125, "dropout": 0.5}, bn_momentum=0.1)
    settings.update(changes)
    return TopicClassifier("alexnet", classes, **settings)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 1, 36, 36), dtype=np.uint8)
    targets = np.arange(16) % 3
    return images, targets, images[:6], targets[:6]


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_head_learns_at_lr_times_multiplier():
    model = make(lr=0.02, head_lr_multiplier=5.0)
    net = model.build()
    opt = model.make_optimizer(net)
    body, head = opt.param_groups
    assert body["lr"] == pytest.approx(0.02) and head["lr"] == pytest.approx(0.1)
    head_params = list(getattr(net, net.head_name).parameters())
    assert len(head["params"]) == len(head_params) and all(p is q for p, q in zip(head["params"], head_params))
    assert len(body["params"]) + len(head["params"]) == len(list(net.parameters()))
    assert body["momentum"] == 0.9 and body["weight_decay"] == 5e-4


def test_adamw_is_an_option_and_unknown_optimizer_is_an_error():
    model = make(optimizer="adamw")
    assert isinstance(model.make_optimizer(model.build()), torch.optim.AdamW)
    with pytest.raises(ValueError, match="sgd or adamw"):
        make(optimizer="rmsprop")


def test_seeded_cpu_run_is_repeatable(data):
    one = make().fit(*data)
    two = make().fit(*data)
    assert same_weights(one.net_, two.net_)
    other = make(seed=4).fit(*data)
    assert not same_weights(one.net_, other.net_)


def test_resume_after_interruption_ends_with_the_uninterrupted_weights(data, tmp_path):
    uninterrupted = make(epochs=3).fit(*data)

    class Killed(Exception):
        pass

    def kill(epoch, batch):
        if epoch == 3 and batch == 2:
            raise Killed

    with pytest.raises(Killed):
        make(epochs=3).fit(*data, checkpoint=tmp_path, on_batch=kill)
    state = read_state(tmp_path)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    resumed = make(epochs=3).fit(*data, checkpoint=tmp_path)
    assert resumed.resumed_from_ == 2
    assert len(resumed.history_) == 3
    assert same_weights(resumed.net_, uninterrupted.net_)
    assert resumed.best_epoch_ == uninterrupted.best_epoch_


def test_finished_checkpoint_is_not_trained_again(data, tmp_path):
    make().fit(*data, checkpoint=tmp_path)
    calls = []
    again = make().fit(*data, checkpoint=tmp_path, on_batch=lambda e, b: calls.append((e, b)))
    assert calls == [] and again.resumed_from_ == 2


def test_best_epoch_by_validation_accuracy(data):
    model = make(epochs=3).fit(*data)
    accs = [h["val_top1"] for h in model.history_]
    assert model.best_epoch_ == 1 + int(np.argmax(accs))  # argmax: the first of equal ones
    assert model.best_val_top1_ == max(accs)


def test_safetensors_round_trip(data, tmp_path):
    model = make().fit(*data)
    model.save(tmp_path)
    stored = load_file(str(tmp_path / "model.safetensors"))
    state = model.net_.state_dict()
    assert stored.keys() == state.keys() and all(torch.equal(stored[k], state[k]) for k in state)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["arch"] == "alexnet" and meta["level"] == "level1"
    assert meta["class_index"] == {"0": 0, "1": 1, "2": 2}
    assert meta["best_epoch"] == model.best_epoch_ and len(meta["history"]) == 2
    loaded = TopicClassifier.load(tmp_path)
    assert same_weights(loaded.net_, model.net_)
    assert np.array_equal(loaded.predict_scores(data[0]), model.predict_scores(data[0]))
    scores = loaded.predict_scores(data[0])
    assert scores.shape == (16, 3) and np.allclose(scores.sum(axis=1), 1, atol=1e-5)
    assert meta["resize"] == 36 and meta["crop"] == 32
    features = loaded.features(data[0])
    assert features.shape == (16, loaded.net_.feature_dim) and features.dtype == np.float32
    # The head applied to the features gives the logits behind the scores.
    logits = getattr(loaded.net_, loaded.net_.head_name)(torch.from_numpy(features))
    assert np.allclose(torch.softmax(logits, 1).detach().numpy(), scores, atol=1e-5)


def test_level2_starts_from_the_level1_body(data, tmp_path):
    parent = make().fit(*data)
    parent.save(tmp_path / "level1")
    child = make(classes=["0.0", "0.1", "1.0", "2.0"], level="level2", init_from=tmp_path / "level1")
    net = child.build()
    head = net.head_name + "."
    parent_state = parent.net_.state_dict()
    for key, value in net.state_dict().items():
        if not key.startswith(head):
            assert torch.equal(value, parent_state[key]), key
    assert getattr(net, net.head_name).weight.shape == (4, net.feature_dim)
    assert child.parent_level_ == "level1"


def test_crop_larger_than_images_is_an_error(data):
    with pytest.raises(ValueError, match="smaller than the crop"):
        make(crop=40).fit(*data)

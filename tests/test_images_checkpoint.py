"""Checkpoints: optimizer state through safetensors + JSON, per-epoch folders, state.json."""

import json

import pytest
import torch

from pacsmine.images.checkpoint import load_optimizer, load_tensors, optimizer_tensors, read_state, save_epoch


def trained(kind):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    opt = (torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4) if kind == "sgd"
           else torch.optim.AdamW(net.parameters(), lr=0.01))
    for _ in range(3):
        loss = net(torch.randn(5, 4)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, opt


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_optimizer_state_round_trip(kind, tmp_path):
    net, opt = trained(kind)
    save_epoch(tmp_path, 1, net, opt, net.state_dict(), {"best_epoch": 1, "best_accuracy": 0.5, "history": []})
    state = read_state(tmp_path)
    assert state["epoch"] == 1 and state["checkpoint"] == "epoch-001" and state["best_checkpoint"] == "best-001"
    folder = tmp_path / "epoch-001"
    fresh_net, fresh_opt = trained(kind)
    fresh_opt = type(opt)(fresh_net.parameters(), lr=1.0)  # different settings: the load restores them
    load_optimizer(fresh_opt, load_tensors(folder / "optimizer.safetensors"),
                   json.loads((folder / "optimizer.json").read_text()))
    a, b = opt.state_dict(), fresh_opt.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for index, values in a["state"].items():
        for name, value in values.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][index][name])), name
    weights = load_tensors(folder / "weights.safetensors")
    assert all(torch.equal(weights[k], v) for k, v in net.state_dict().items())


def test_only_the_last_and_the_best_epoch_are_kept(tmp_path):
    net, opt = trained("sgd")
    save_epoch(tmp_path, 1, net, opt, net.state_dict(), {"best_epoch": 1, "best_accuracy": 0.5, "history": []})
    save_epoch(tmp_path, 2, net, opt, None, {"best_epoch": 1, "best_accuracy": 0.5, "history": []})
    save_epoch(tmp_path, 3, net, opt, None, {"best_epoch": 1, "best_accuracy": 0.5, "history": []})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-001", "epoch-003", "state.json"]
    assert read_state(tmp_path)["best_checkpoint"] == "best-001"


def test_no_state_or_a_lost_folder_means_no_checkpoint(tmp_path):
    assert read_state(tmp_path) is None
    net, opt = trained("sgd")
    save_epoch(tmp_path, 1, net, opt, net.state_dict(), {"best_epoch": 1, "best_accuracy": 0.5, "history": []})
    (tmp_path / "epoch-001" / "weights.safetensors").unlink()
    assert read_state(tmp_path) is None


def test_optimizer_tensors_split_tensors_from_json():
    _, opt = trained("adamw")
    tensors, meta = optimizer_tensors(opt)
    assert {k.split(".", 1)[1] for k in tensors} >= {"exp_avg", "exp_avg_sq"}
    json.dumps(meta)  # the rest is JSON

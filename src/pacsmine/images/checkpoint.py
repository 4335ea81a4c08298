"""Checkpoints as safetensors: network weights, optimizer state, and the JSON beside them.

Nothing is pickled. A network's ``state_dict`` (weights and BatchNorm buffers) is one
safetensors file; an optimizer's state is another (tensors keyed ``"<param index>.<name>"``,
e.g. ``"12.momentum_buffer"``) with its param groups and scalar state in the JSON.

A training checkpoint is a folder ``epoch-<n>/`` (weights, optimizer) written under a
temporary name and renamed into place, then ``state.json`` (epoch, the folder, best epoch,
history) replaced atomically: a run killed at any moment leaves the last finished epoch
readable, and a folder that ``state.json`` does not name is removed by the next save.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..workspace import atomic_path, write_json

__all__ = ["save_tensors", "load_tensors", "optimizer_tensors", "load_optimizer", "save_epoch", "read_state",
           "STATE"]

STATE = "state.json"


def save_tensors(path: Path, tensors: dict[str, Any]) -> None:
    """safetensors file of ``tensors`` (name -> torch tensor), written atomically."""
    from safetensors.torch import save_file

    # Copies: safetensors refuses tensors that share storage (tied weights, views).
    clean = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(clean, str(tmp))


def load_tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path))


def optimizer_tensors(optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, JSON part) of ``optimizer.state_dict()``."""
    import torch

    sd = optimizer.state_dict()
    tensors: dict[str, Any] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value
            elif value is not None:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(optimizer, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
    """Restore ``optimizer`` from :func:`optimizer_tensors`' two parts."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, _, name = key.partition(".")
        state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    # JSON turned tuples (AdamW's betas) into lists; the optimizer made them tuples.
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
              for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_epoch(folder: Path, epoch: int, net, optimizer, best_net_state: dict[str, Any] | None,
               state: dict[str, Any]) -> None:
    """Write the checkpoint of finished ``epoch`` (1-based) into ``folder``.

    ``best_net_state``: the best epoch's weights when this epoch is the new best (written as
    ``best-<n>/weights.safetensors``), else None (the earlier best folder stays).
    ``state`` is the JSON part (``best_epoch``, history, ...); ``epoch`` and the folder names are added.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{epoch:03d}"
    tmp = folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_tensors(tmp / "weights.safetensors", net.state_dict())
    tensors, meta = optimizer_tensors(optimizer)
    save_tensors(tmp / "optimizer.safetensors", tensors)
    write_json(tmp / "optimizer.json", meta)
    shutil.rmtree(folder / name, ignore_errors=True)
    os.replace(tmp, folder / name)
    # The best epoch's weights live in best-<best epoch>/, written when that epoch finished.
    state = dict(state, epoch=epoch, checkpoint=name, best_checkpoint=f"best-{int(state['best_epoch']):03d}")
    if best_net_state is not None:
        best = f"best-{epoch:03d}"
        btmp = folder / f".{best}.tmp"
        shutil.rmtree(btmp, ignore_errors=True)
        btmp.mkdir()
        save_tensors(btmp / "weights.safetensors", best_net_state)
        shutil.rmtree(folder / best, ignore_errors=True)
        os.replace(btmp, folder / best)
    write_json(folder / STATE, state)
    for old in folder.iterdir():
        if old.is_dir() and old.name not in (state["checkpoint"], state.get("best_checkpoint")) \
                and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


def read_state(folder: Path) -> dict[str, Any] | None:
    """The last finished epoch's ``state.json``, or None when there is no usable checkpoint."""
    path = folder / STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not (folder / state["checkpoint"] / "weights.safetensors").is_file():
        return None
    return state

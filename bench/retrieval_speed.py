"""`pacsmine predict`'s time per image (one image, and a batch), and the contrastive model's
training images/s, on this machine, for a workspace whose retrieval stage has run.

    PYTHONPATH=src python bench/retrieval_speed.py WS [--batch 100] [--steps 3]

Loading the models (once per `pacsmine predict` call) is timed apart from answering. The
training speed is measured by training steps of the workspace's contrastive settings on its
own key images (from the level-1 classifier), one torch thread (retrieval.threads).
Prints the machine line before and after.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_line  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    import numpy as np
    import pyarrow.parquet as pq
    import torch

    from pacsmine.config import load_config
    from pacsmine.retrieval.predict import Predictor
    from pacsmine.workspace import Workspace

    ws = Workspace(args.workspace)
    config = load_config()
    torch.set_num_threads(int(ws.manifest("retrieval")["config"]["threads"]) or torch.get_num_threads())
    print(machine_line("before"))
    pngs = [ws.root / p for p in pq.read_table(ws.require("ingest", "images.parquet"), columns=["png"])
            .column("png").to_pylist()[: args.batch]]
    started = time.perf_counter()
    predictor = Predictor(ws, config)
    print(f"load models: {time.perf_counter() - started:.2f} s")
    predictor(pngs[:1])  # warm-up
    started = time.perf_counter()
    predictor(pngs[:1])
    one = time.perf_counter() - started
    started = time.perf_counter()
    predictor(pngs)
    many = time.perf_counter() - started
    print(f"predict: one image {one * 1000:.0f} ms; a batch of {len(pngs)}: {many:.2f} s "
          f"({many / len(pngs) * 1000:.0f} ms per image)")

    from pacsmine.retrieval.contrastive import ContrastiveModel, info_nce

    cfg = ws.manifest("retrieval")["config"]
    parent = ws.stage_dir("images") / "models" / cfg["arch"] / "level1"
    model = ContrastiveModel.from_parent(parent, cfg["contrastive"], text_dim=predictor.wv.dim, device="cpu")
    joint = model._build_all()  # image encoder, text encoder and temperature as one module
    net, text, log_scale = joint.image, joint.text, joint.log_scale
    opt = model._optimizer(joint)
    from pacsmine.images.cache import decode_all

    b = int(cfg["contrastive"]["batch_size"])
    images, _ = decode_all(pngs[:b], model.resize)
    texts = torch.randn(len(images), predictor.wv.dim)
    gen = torch.Generator().manual_seed(0)
    net.train()
    text.train()
    times = []
    for _ in range(args.steps + 1):
        started = time.perf_counter()
        x = model._batch(images, np.arange(len(images)), gen)
        loss = info_nce(net(x), text(texts), log_scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - started)
    per_step = sum(times[1:]) / args.steps  # the first step warms up
    print(f"contrastive training: {len(images) / per_step:.1f} images/s ({cfg['arch']}, crop {model.crop} px, "
          f"batch {len(images)}, {args.steps} steps)")
    print(machine_line("after"))


if __name__ == "__main__":
    main()

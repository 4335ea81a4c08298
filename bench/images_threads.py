"""Training images/s of one architecture at one crop with 1 and 2 torch threads (images.threads).

    PYTHONPATH=src python bench/images_threads.py [--arch efficientnet_lite0] [--crop 32] [--steps 6]

Prints the machine line (CPU, cores, load average) before and after: on a shared 2-core
machine two threads can be slower than one, which is why images.threads defaults to 1.
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
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--crop", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    import torch

    from pacsmine.images.networks import build_network

    print(machine_line())
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        net = build_network(args.arch, 14, in_channels=1, pretrained=args.arch == "efficientnet_lite0")
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(args.batch, 1, args.crop, args.crop)
        y = torch.randint(0, 14, (args.batch,))
        net.train()
        for step in range(args.steps + 1):
            if step == 1:  # the first step warms up
                started = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        rate = args.batch * args.steps / (time.perf_counter() - started)
        print(f"{args.arch} crop {args.crop} batch {args.batch}: {threads} thread(s) {rate:.0f} training images/s")
    print(machine_line())


if __name__ == "__main__":
    main()

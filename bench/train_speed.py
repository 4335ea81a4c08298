"""Network throughput on this CPU: images/s of training and of inference per architecture.

Synthetic input: the batches are random float32 tensors made once before timing, so the
figures are the networks' own speed (forward + backward + SGD step for training, a
no-grad forward in eval mode for inference), not decoding or augmentation. Each
architecture is built with random weights at ``--width`` (alexnet, vgg; 1.0 = the
papers' sizes) and measured at the demo resolution (``--size``) and at 224x224: one warm-up
step, then steps until ``--seconds`` have passed (at least ``--min-steps``).

Prints the machine line (CPU model, cores, load average) at the start and the end, then one
``figures:`` line per architecture and size.

    .venv/bin/python bench/train_speed.py                  # size 64 and 224, batch 16
    .venv/bin/python bench/train_speed.py --size 96 --batch 32 --arch efficientnet_lite0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402


def rate(step, batch: int, seconds: float, min_steps: int) -> float:
    """Images/s of ``step()`` (one batch each): one warm-up call, then calls until
    ``seconds`` have passed and at least ``min_steps`` were made."""
    step()
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def measure(arch: str, size: int, args) -> tuple[float, float, float]:
    """(training images/s, inference images/s, parameters in millions) of ``arch`` at size x size."""
    import torch

    from pacsmine.images.networks import build_network

    torch.manual_seed(0)
    options = {"width": args.width} if arch in ("alexnet", "vgg") else {}
    net = build_network(arch, args.classes, in_channels=args.channels, pretrained=False, **options)
    x = torch.randn(args.batch, args.channels, size, size)
    y = torch.randint(0, args.classes, (args.batch,))
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        optimiser.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        optimiser.step()

    def infer_step():
        with torch.inference_mode():
            net(x)

    net.train()
    train = rate(train_step, args.batch, args.seconds, args.min_steps)
    net.eval()
    infer = rate(infer_step, args.batch, args.seconds, args.min_steps)
    return train, infer, sum(p.numel() for p in net.parameters()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64, help="the demo resolution (px); 224 is added")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--channels", type=int, default=1, help="1: grey key images")
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--width", type=float, default=1.0, help="alexnet/vgg width multiplier")
    parser.add_argument("--arch", action="append", help="repeatable; default: every architecture")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per measurement")
    parser.add_argument("--min-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    from pacsmine.images.networks import ARCHITECTURES

    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine_line("start"), flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{args.channels} channel(s), width {args.width} (alexnet/vgg), synthetic tensors", flush=True)
    for size in sorted({args.size, 224}):
        for arch in args.arch or ARCHITECTURES:
            train, infer, params = measure(arch, size, args)
            print(f"figures: arch={arch} size={size} params_M={params:.1f} "
                  f"train_images_per_s={train:.1f} infer_images_per_s={infer:.1f}", flush=True)
    print(machine_line("end"), flush=True)


if __name__ == "__main__":
    main()

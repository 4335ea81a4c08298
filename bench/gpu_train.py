"""Training and inference throughput on a GPU at 224x224 with bf16 autocast, data off the critical path.

The key images are stood in for by random uint8 images (``--images`` of them, ``--source``
px square, ``--channels`` channels) made once and kept on the device (default) or in pinned
host memory (``--data pinned``, each batch copied with ``non_blocking=True``). Each training
step draws a batch, crops a random ``--size`` square, flips half the images left-right,
converts to float with ``tflite_normalise``, and runs forward + backward + SGD (momentum 0.9,
weight decay 5e-4) under ``torch.autocast(dtype=torch.bfloat16)``; inference is a no-grad
forward of the centre crop in eval mode. Per architecture: ``--warmup`` steps, then steps for
``--seconds`` (at least ``--min-steps``); with ``--channels-last`` on CUDA (the default there).

GPU busy share: the share of the wall time of ``--profile-steps`` training steps during which
the GPU ran kernels (the torch profiler's device time of every kernel, summed, over the wall
time); where the profiler has no device events it prints "n/a". ``torch.cuda.utilization()``
(NVML's sampled figure, needs pynvml) is printed beside it when available.

Prints the machine line at the start and end, the device's name, and one ``figures:`` line per
architecture. Finishes in about 3 minutes on one GPU at the defaults (well under 10).

    .venv/bin/python bench/gpu_train.py                       # cuda, 224 px, batch 128
    .venv/bin/python bench/gpu_train.py --device cpu --tiny   # end to end in seconds (a test runs it)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402

TINY = {"size": 32, "source": 36, "batch": 4, "images": 8, "seconds": 0.0, "min_steps": 1,
        "warmup": 1, "profile_steps": 1, "width": 0.25}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--tiny", action="store_true",
                        help=f"a seconds-long smoke run: {TINY}")
    parser.add_argument("--arch", action="append", help="repeatable; default: every architecture")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--source", type=int, default=256, help="stored image side, cropped to --size")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--images", type=int, default=2048, help="images held in memory")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--width", type=float, default=1.0, help="alexnet/vgg width multiplier")
    parser.add_argument("--data", choices=("device", "pinned"), default="device")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per measurement")
    parser.add_argument("--min-steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile-steps", type=int, default=5)
    parser.add_argument("--no-channels-last", action="store_true")
    args = parser.parse_args()
    if args.tiny:
        for key, value in TINY.items():
            setattr(args, key, value)
    return args


class Batches:
    """Random crops and flips of stored uint8 images, made on the compute device."""

    def __init__(self, args, device):
        import torch

        on_device = args.data == "device" or device.type == "cpu"
        shape = (args.images, args.channels, args.source, args.source)
        generator = torch.Generator(device="cpu").manual_seed(0)
        images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
        self.images = images.to(device) if on_device else images.pin_memory()
        self.labels = torch.randint(0, args.classes, (args.images,), generator=generator).to(device)
        self.args, self.device = args, device
        self.memory_format = (torch.contiguous_format if device.type == "cpu" or args.no_channels_last
                              else torch.channels_last)

    def _to_float(self, x):
        from pacsmine.images.networks import tflite_normalise

        x = x.to(self.device, non_blocking=True).float().div_(255.0)
        return tflite_normalise(x).contiguous(memory_format=self.memory_format)

    def train(self):
        import torch

        args = self.args
        index = torch.randint(0, args.images, (args.batch,))
        top, left = (int(v) for v in torch.randint(0, args.source - args.size + 1, (2,)))
        x = self.images[index.to(self.images.device)][..., top:top + args.size, left:left + args.size]
        if self.images.is_pinned():
            # The gathered crop is new pageable memory: pin it so that the copy is asynchronous.
            x = x.contiguous().pin_memory()
        x = self._to_float(x)
        flip = torch.rand(args.batch, device=self.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x, self.labels[index.to(self.device)]

    def centre(self):
        args = self.args
        offset = (args.source - args.size) // 2
        x = self.images[:args.batch, ..., offset:offset + args.size, offset:offset + args.size]
        return self._to_float(x.contiguous())


def timed(step, sync, warmup: int, seconds: float, min_steps: int, batch: int) -> float:
    """Images/s of ``step()`` after ``warmup`` calls, over at least ``seconds`` and ``min_steps``."""
    for _ in range(warmup):
        step()
    sync()
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        steps += 1
    sync()
    return steps * batch / (time.perf_counter() - start)


def busy_share(step, sync, steps: int, device) -> str:
    """Kernel time over wall time of ``steps`` calls of ``step()``, from the torch profiler."""
    from torch.profiler import ProfilerActivity, profile

    if device.type != "cuda":
        return "n/a"
    try:
        sync()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            start = time.perf_counter()
            for _ in range(steps):
                step()
            sync()
            wall = time.perf_counter() - start
        # Kernels only (device_type CUDA), self time in microseconds; their sum is the time the
        # GPU computed, overlaps between streams aside.
        kernel_us = sum(e.self_device_time_total for e in prof.key_averages()
                        if str(getattr(e, "device_type", "")).endswith("CUDA"))
        if kernel_us <= 0:
            return "n/a (no kernel events)"
        return f"{kernel_us / 1e6 / wall:.2f}"
    except Exception as exc:  # a profiler without CUPTI: say so, keep the throughput figures
        return f"n/a ({type(exc).__name__})"


def nvml_utilisation(device) -> str:
    import torch

    if device.type != "cuda":
        return "n/a"
    try:
        return f"{torch.cuda.utilization(device)}%"
    except Exception:  # pynvml absent
        return "n/a"


def measure(arch: str, args, device, batches: Batches) -> str:
    import torch

    from pacsmine.images.networks import build_network

    torch.manual_seed(0)
    options = {"width": args.width} if arch in ("alexnet", "vgg") else {}
    net = build_network(arch, args.classes, in_channels=args.channels, pretrained=False, **options)
    net = net.to(device, memory_format=batches.memory_format)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def train_step():
        x, y = batches.train()
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            loss = loss_fn(net(x), y)
        loss.backward()
        optimiser.step()

    centre = batches.centre()

    def infer_step():
        with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            net(centre)

    net.train()
    train = timed(train_step, sync, args.warmup, args.seconds, args.min_steps, args.batch)
    busy = busy_share(train_step, sync, args.profile_steps, device)
    nvml = nvml_utilisation(device)
    net.eval()
    infer = timed(infer_step, sync, args.warmup, args.seconds, args.min_steps, args.batch)
    return (f"figures: arch={arch} device={device.type} size={args.size} batch={args.batch} bf16=yes "
            f"data={args.data if device.type == 'cuda' else 'memory'} "
            f"train_images_per_s={train:.1f} infer_images_per_s={infer:.1f} "
            f"gpu_busy_train={busy} nvml_utilisation={nvml}")


def main() -> None:
    args = parse_args()
    import torch

    from pacsmine.images.networks import ARCHITECTURES

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("gpu_train: no CUDA device here (use --device cpu --tiny for a smoke run)")
    device = torch.device(args.device)
    print(machine_line("start"), flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}, torch {torch.__version__}, {args.images} synthetic images of "
          f"{args.channels}x{args.source}x{args.source} held in {args.data if device.type == 'cuda' else 'memory'}",
          flush=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    batches = Batches(args, device)
    for arch in args.arch or ARCHITECTURES:
        print(measure(arch, args, device, batches), flush=True)
    print(machine_line("end"), flush=True)


if __name__ == "__main__":
    main()

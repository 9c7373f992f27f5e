#!/usr/bin/env python3
"""PyTorch side of benches/compare.sh: the shapes S1-S4 (one weight, F.conv2d per dilation with
'same' padding, torch.cat) forward and forward+backward; the branch-parallel layer on S3 and S4
(one weight and bias, one input per dilation, a list of F.conv2d, outputs unmerged); and a
training step of the MNIST
example's default model rebuilt in PyTorch (1 -> 64 channels, 5x5 at dilations 1, 2, 3, ReLU
per branch, concatenation, 4x4 max pooling, linear head; batch 64, Adam); and, given the shape
classes' rows as JSON (what burn_timings prints under "classes"), the same layer on each row
(TensorFlow's 'same' padding, asymmetric where it must be, as F.pad then F.conv2d). Threads:
the core count. Prints one JSON object (medians in milliseconds) on stdout.

Usage: python3 benches/torch_reference.py [repeats] [classes JSON]   (needs `pip install torch`)
"""

import json
import os
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = [("S1", 32, 1, 4, 10), ("S2", 64, 1, 32, 28), ("S3", 32, 32, 32, 28), ("S4", 8, 64, 64, 56)]
DILATIONS = [1, 2, 3]


def layer(x, w, b):
    # Stride 1, odd kernel: 'same' is symmetric, padding = dilation.
    return torch.cat([F.conv2d(x, w, b, padding=d, dilation=d) for d in DILATIONS], dim=1)


def parallel(xs, w, b):
    # One input per dilation, the branches unmerged.
    return [F.conv2d(x, w, b, padding=d, dilation=d) for x, d in zip(xs, DILATIONS)]


def same_padding(size, kernel, stride, dilation):
    """TensorFlow's 'same': (before, after), the larger half after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def general_layer(x, w, b, stride, dilations):
    size, kernel = x.shape[-1], w.shape[-1]
    branches = []
    for d in dilations:
        before, after = same_padding(size, kernel, stride, d)
        padded = F.pad(x, (before, after, before, after))
        branches.append(F.conv2d(padded, w, b, stride=stride, dilation=d))
    return torch.cat(branches, dim=1)


def classes(repeats, shapes):
    """The shape classes, each row of burn's (forward, forward+backward, forward at batch 1:
    its mode and geometry), with a quarter of the repeats (at least 3), as burn_timings does."""
    repeats = max(repeats // 4, 3)
    rows = []
    for s in shapes:
        g = s["geometry"]
        x = torch.randn(g["batch"], g["input"], g["size"], g["size"])
        w = torch.randn(g["output"], g["input"], g["kernel"], g["kernel"], requires_grad=True)
        b = torch.zeros(g["output"], requires_grad=True)
        run = lambda x: general_layer(x, w, b, g["stride"], g["dilations"])
        if s["mode"] == "fwd+bwd":
            xg = x.clone().requires_grad_(True)
            ms = median_ms(repeats, lambda: run(xg).sum().backward())
        else:
            with torch.no_grad():
                ms = median_ms(repeats, lambda: run(x).sum().item())
        rows.append(dict(shape=s["shape"], mode=s["mode"], ms=ms))
    return rows


def total(ys):
    return sum(y.sum() for y in ys)


def median_ms(repeats, fn):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[repeats // 2]


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(64, 1, 5, 5) * 0.2)
        self.bias = torch.nn.Parameter(torch.zeros(64))
        self.head = torch.nn.Linear(192 * 7 * 7, 10)

    def forward(self, x):
        # 5x5, stride 1: 'same' is symmetric, padding = 2 * dilation.
        branches = [F.relu(F.conv2d(x, self.weight, self.bias, padding=2 * d, dilation=d)) for d in DILATIONS]
        return self.head(F.max_pool2d(torch.cat(branches, 1), 4).flatten(1))


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    for name, batch, cin, cout, size in SHAPES:
        x = torch.randn(batch, cin, size, size)
        w = torch.randn(cout, cin, 3, 3, requires_grad=True)
        b = torch.zeros(cout, requires_grad=True)
        with torch.no_grad():
            fwd = median_ms(repeats, lambda: layer(x, w, b).sum().item())
        xg = x.clone().requires_grad_(True)
        both = median_ms(repeats, lambda: layer(xg, w, b).sum().backward())
        rows += [dict(shape=name, mode="fwd", ms=fwd), dict(shape=name, mode="fwd+bwd", ms=both)]
    branch_rows = []
    for name, batch, cin, cout, size in SHAPES:
        if name not in ("S3", "S4"):
            continue
        xs = [torch.randn(batch, cin, size, size) for _ in DILATIONS]
        w = torch.randn(cout, cin, 3, 3, requires_grad=True)
        b = torch.zeros(cout, requires_grad=True)
        with torch.no_grad():
            fwd = median_ms(repeats, lambda: total(parallel(xs, w, b)).item())
        xg = [x.clone().requires_grad_(True) for x in xs]
        both = median_ms(repeats, lambda: total(parallel(xg, w, b)).backward())
        branch_rows += [dict(shape=name, mode="fwd", ms=fwd), dict(shape=name, mode="fwd+bwd", ms=both)]
    net = Net()
    optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    images, targets = torch.randn(64, 1, 28, 28), torch.arange(64) % 10

    def step():
        optim.zero_grad()
        F.cross_entropy(net(images), targets).backward()
        optim.step()

    ms = median_ms(repeats, step)
    shapes = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(),
                          capability=torch.backends.cpu.get_cpu_capability(), layer=rows,
                          parallel=branch_rows, classes=classes(repeats, shapes),
                          mnist_train_images_per_second=64 / (ms / 1e3))))


if __name__ == "__main__":
    main()

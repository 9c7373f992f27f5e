#!/usr/bin/env python3
"""PyTorch side of benches/compare_ranks.sh: the 1-D and 3-D layers as PyTorch users write
them, one weight and bias, F.conv1d / F.conv3d per dilation with 'same' padding (symmetric
here: stride 1 and odd kernels, padding = dilation * (k - 1) / 2), torch.cat on the channel
axis; forward, and forward+backward of the sum. Given the shapes as JSON (what rank_timings
prints under "shapes"); threads: the core count. Prints one JSON object (medians in ms).

Usage: python3 benches/torch_ranks.py [repeats] SHAPES_JSON   (needs `pip install torch`)
       python3 benches/torch_ranks.py peak NAME SHAPES_JSON: three forward+backward passes of
       one shape and the growth of the process's peak resident memory over them, in MiB.
"""

import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(repeats, f):
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[repeats // 2]


def layer(s):
    """The shape's layer as a function of (x, w, b), and fresh w and b."""
    conv = {1: F.conv1d, 3: F.conv3d}[len(s["kernel"])]
    cin, cout = s["channels"]
    w = torch.randn(cout, cin, *s["kernel"]) * 0.1
    b = torch.randn(cout) * 0.1

    def forward(x, w, b):
        pad = lambda d: [d * (k - 1) // 2 for k in s["kernel"]]  # noqa: E731
        return torch.cat([conv(x, w, b, padding=pad(d), dilation=d) for d in s["dilations"]],
                         dim=1)

    return forward, w, b


def peak(name, shapes):
    s = next(s for s in shapes if s["name"] == name)
    forward, w, b = layer(s)
    w.requires_grad_(True)
    b.requires_grad_(True)
    x = torch.randn(s["batch"], s["channels"][0], *s["spatial"], requires_grad=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(3):
        forward(x, w, b).sum().backward()
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps(dict(shape=name, path="torch", peak_growth_mib=growth)))


def main():
    if sys.argv[1] == "peak":
        return peak(sys.argv[2], json.loads(sys.argv[3]))
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    shapes = json.loads(sys.argv[2])
    torch.set_num_threads(os.cpu_count())
    rows = []
    for s in shapes:
        forward, w, b = layer(s)
        for backward in [False, True]:
            x = torch.randn(s["batch"], s["channels"][0], *s["spatial"], requires_grad=backward)
            wb = [w.clone().requires_grad_(backward), b.clone().requires_grad_(backward)]

            def step():
                y = forward(x, wb[0], wb[1])
                if backward:
                    y.sum().backward()
                else:
                    y.sum().item()

            if backward:
                ms = median_ms(repeats, step)
            else:
                with torch.no_grad():
                    ms = median_ms(repeats, step)
            rows.append(dict(shape=s["name"], mode="fwd+bwd" if backward else "fwd", ms=ms))
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), rows=rows)))


if __name__ == "__main__":
    main()

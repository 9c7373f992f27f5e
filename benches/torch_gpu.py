#!/usr/bin/env python3
"""PyTorch side of benches/gpu.sh: the same layers as gpu_bench on the same shapes (read from its
JSON), one weight and bias, F.conv2d per dilation with TensorFlow's 'same' padding, then
torch.cat (the layer) or a list (the branch-parallel layer, one input per dilation), forward and
forward+backward, cuDNN autotuning on; on the CPU where no CUDA device is present. Prints one
JSON object on stdout: every gpu_bench row with PyTorch's median beside it, the ratios, and the
fused path's TFLOP/s against the chip's FP32 peak (forward+backward counts three forward
passes: the output, the input gradient and the kernel gradient); and a table on stderr.

Usage: python3 benches/torch_gpu.py burn.json [repeats]
"""

import json
import time
import subprocess
import sys

import torch
import torch.nn.functional as F

from torch_reference import same_padding

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# FP32 lanes per streaming multiprocessor, by compute capability (NVIDIA's tuning guides).
FP32_LANES = {(7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 9): 128, (9, 0): 128}


def fp32_peak_tflops():
    """SMs x FP32 lanes x 2 (an FMA) x the maximum SM clock, or None off a known NVIDIA GPU."""
    if DEVICE != "cuda":
        return None
    props = torch.cuda.get_device_properties(0)
    lanes = FP32_LANES.get((props.major, props.minor))
    try:
        mhz = float(subprocess.run(
            ["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits", "-i", "0"],
            capture_output=True, text=True, check=True).stdout.split()[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None
    return None if lanes is None else props.multi_processor_count * lanes * 2 * mhz * 1e6 / 1e12


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def median_ms(repeats, fn):
    """The median of `repeats` timed calls after two untimed ones (cuDNN tries its algorithms
    in the first)."""
    for _ in range(2):
        fn()
        sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[repeats // 2]


def branches(xs, w, b, stride, dilations):
    """Input i (or the one input) convolved at dilation i with 'same' padding."""
    size, kernel = xs[0].shape[-1], w.shape[-1]
    out = []
    for i, d in enumerate(dilations):
        before, after = same_padding(size, kernel, stride, d)
        x = F.pad(xs[i % len(xs)], (before, after, before, after))
        out.append(F.conv2d(x, w, b, stride=stride, dilation=d))
    return out


def time_row(row, repeats):
    g = row["geometry"]
    count = len(g["dilations"]) if row["layer"] == "parallel" else 1
    backward = row["mode"] == "fwd+bwd"
    xs = [torch.randn(g["batch"], g["input"], g["size"], g["size"], device=DEVICE,
                      requires_grad=backward) for _ in range(count)]
    w = torch.randn(g["output"], g["input"], g["kernel"], g["kernel"], device=DEVICE,
                    requires_grad=True)
    b = torch.zeros(g["output"], device=DEVICE, requires_grad=True)

    def layer():
        ys = branches(xs, w, b, g["stride"], g["dilations"])
        return torch.cat(ys, 1).sum() if count == 1 else sum(y.sum() for y in ys)

    if backward:
        return median_ms(repeats, lambda: layer().backward())
    with torch.no_grad():
        return median_ms(repeats, lambda: layer())


def main():
    burn = json.load(open(sys.argv[1]))
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else burn["repeats"]
    torch.backends.cudnn.benchmark = True
    peak = fp32_peak_tflops()
    runs = []
    print(f"PyTorch {torch.__version__} on {DEVICE}; FP32 peak {peak and round(peak, 1)} TFLOP/s",
          file=sys.stderr)
    for run in burn["runs"]:
        failed = [r for r in run["exactness"] if not r["pass"]]
        worst = max(r["max_relative_error"] for r in run["exactness"])
        print(f"{run['runtime']} ({run['device']}): exactness {len(run['exactness']) - len(failed)}"
              f"/{len(run['exactness'])} within {run['tolerance']}, worst {worst:.2e}; "
              f"Auto takes the fused kernel: {run['auto_takes_fused']}", file=sys.stderr)
        print(f"{'shape':6} {'layer':8} {'mode':8} {'fused ms':>9} {'per-dil ms':>10} "
              f"{'torch ms':>9} {'fused/per-dil':>13} {'fused/torch':>11} {'TFLOP/s':>8} "
              f"{'% peak':>6}", file=sys.stderr)
        rows = []
        for row in run["timings"]:
            torch_ms = time_row(row, repeats)
            flops = row["forward_gflops"] * (3 if row["mode"] == "fwd+bwd" else 1) * 1e9
            tflops = flops / (row["fused_ms"] / 1e3) / 1e12
            row = dict(row, torch_ms=torch_ms,
                       fused_over_per_dilation=row["fused_ms"] / row["per_dilation_ms"],
                       fused_over_torch=row["fused_ms"] / torch_ms, fused_tflops=tflops,
                       percent_of_peak=peak and 100 * tflops / peak)
            rows.append(row)
            pct = "" if peak is None else f"{row['percent_of_peak']:.1f}"
            print(f"{row['shape']:6} {row['layer']:8} {row['mode']:8} {row['fused_ms']:9.2f} "
                  f"{row['per_dilation_ms']:10.2f} {torch_ms:9.2f} "
                  f"{row['fused_over_per_dilation']:13.2f} {row['fused_over_torch']:11.2f} "
                  f"{tflops:8.3f} {pct:>6}", file=sys.stderr)
        runs.append(dict(run, timings=rows))
    print(json.dumps(dict(torch=torch.__version__, torch_device=DEVICE, fp32_peak_tflops=peak,
                          quick=burn["quick"], runs=runs)))


if __name__ == "__main__":
    main()

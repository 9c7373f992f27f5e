#!/usr/bin/env bash
# burn and PyTorch side by side on this machine: per shape and mode, milliseconds of each,
# burn/PyTorch and burn's GFLOP/s (burn: the layer's default path, the fused kernel on flex),
# and the layer forced to one conv2d per dilation; then the branch-parallel layer
# (`forward_parallel`, one input per dilation) on S3 and S4 the same way; then the MNIST
# training step, then `geomean burn/torch fwd+bwd: X.XX` (of the first table). PyTorch: `pip install torch` (skipped, with a message,
# when it is not importable). Usage: bash benches/compare.sh [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
repeats="${1:-20}"

cargo build --release -q -p multi-dilation-benches --bin burn_timings
burn_json="$("$CARGO_TARGET_DIR/release/burn_timings" "$repeats")"
if python3 -c "import torch" 2>/dev/null; then
    torch_json="$(python3 benches/torch_reference.py "$repeats")"
else
    echo "PyTorch not found (pip install torch): burn's numbers only." >&2
    torch_json="null"
fi

python3 - "$burn_json" "$torch_json" <<'PY'
import json, math, platform, os, sys
burn, torch = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; burn {burn['device']}"
      + (f"; PyTorch {torch['torch']}, {torch['threads']} threads" if torch else ""))
print(f"{'shape':5} {'mode':8} {'burn ms':>9} {'torch ms':>9} {'burn/torch':>10} {'burn GFLOP/s':>12} {'per-dil. ms':>11} {'layer/per-dil.':>14}")
theirs = {(r["shape"], r["mode"]): r["ms"] for r in torch["layer"]} if torch else {}
ratios = []
for row in burn["layer"]:
    flops = row["forward_gflops"] * (3 if row["mode"] == "fwd+bwd" else 1)
    t = theirs.get((row["shape"], row["mode"]))
    ratio = row["ms"] / t if t else float("nan")
    if t and row["mode"] == "fwd+bwd":
        ratios.append(ratio)
    pd = row["per_dilation_ms"]
    print(f"{row['shape']:5} {row['mode']:8} {row['ms']:9.2f} {t if t else float('nan'):9.2f} {ratio:10.2f} {flops / (row['ms'] / 1e3):12.1f} {pd:11.2f} {row['ms'] / pd:14.2f}")
print("branch-parallel layer (forward_parallel: one input per dilation, one kernel)")
print(f"{'shape':5} {'mode':8} {'burn ms':>9} {'torch ms':>9} {'burn/torch':>10} {'burn GFLOP/s':>12} {'per-dil. ms':>11} {'layer/per-dil.':>14}")
theirs = {(r["shape"], r["mode"]): r["ms"] for r in torch["parallel"]} if torch else {}
for row in burn["parallel"]:
    flops = row["forward_gflops"] * (3 if row["mode"] == "fwd+bwd" else 1)
    t = theirs.get((row["shape"], row["mode"]))
    ratio = row["ms"] / t if t else float("nan")
    pd = row["per_dilation_ms"]
    print(f"{row['shape']:5} {row['mode']:8} {row['ms']:9.2f} {t if t else float('nan'):9.2f} {ratio:10.2f} {flops / (row['ms'] / 1e3):12.1f} {pd:11.2f} {row['ms'] / pd:14.2f}")
b = burn["mnist_train_images_per_second"]
if torch:
    t = torch["mnist_train_images_per_second"]
    print(f"MNIST model training (batch 64, Adam): burn {b:.0f} images/s, PyTorch {t:.0f} images/s, burn/torch {b / t:.2f}")
    print(f"geomean burn/torch fwd+bwd: {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}")
else:
    print(f"MNIST model training (batch 64, Adam): burn {b:.0f} images/s")
PY

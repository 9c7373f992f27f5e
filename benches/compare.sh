#!/usr/bin/env bash
# burn and PyTorch side by side on this machine: per shape and mode, milliseconds of each,
# burn/PyTorch and burn's GFLOP/s (burn: the layer's default path, the fused kernel on flex),
# and the layer forced to one conv2d per dilation; then the branch-parallel layer
# (`forward_parallel`, one input per dilation) on S3 and S4 the same way, and on its branches
# stacked on the batch axis (`forward_parallel_stacked`); then the shape classes
# (wide channels, batch 1, large dilations, 5x5 and 7x7 kernels, stride 2: `CLASSES` in
# benches/src/shapes.rs) with the default path, the fused kernel and the per-dilation path each
# timed, GFLOP/s and the share of this machine's FMA peak (GFLOP/s count the work of one
# convolution per dilation, three times the forward's for forward+backward; the fused backward
# sums the branches before its GEMMs and does less, so those rows can pass 100% of the peak);
# then the MNIST training step, then
# `geomean burn/torch fwd+bwd: X.XX` and `geomean burn/torch fwd: X.XX` (of the first and third
# tables; the forward one includes the batch-1 rows). PyTorch: `pip install torch` (skipped, with
# a message, when it is not importable).
#
# Instruction set: `native` (the default) lets both sides use what the CPU has. `avx2` holds both
# to AVX2 and FMA on an AVX-512 machine: burn's side is built without multi-dilation's `x86-v4`
# feature (gemm's AVX-512 kernels and the fused kernel's AVX-512 loops left out), PyTorch runs
# with ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2. The first line says which.
#
# Each time is a median of `repeats` calls. burn and PyTorch take turns for `rounds` rounds
# (default 2), and each side's time for a row is the lowest of its medians over the rounds:
# this VM's speed drifts by 10-50% from one minute to the next, and taking turns lets a slow
# minute hit both sides rather than one.
# Usage: bash benches/compare.sh [repeats] [rounds] [native|avx2]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
repeats="${1:-20}"

rounds="${2:-2}"
isa="${3:-native}"
case "$isa" in
native) build_features=() ;;
avx2)
    build_features=(--no-default-features)
    export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
    ;;
*)
    echo "compare.sh: the instruction set must be native or avx2, got '$isa'" >&2
    exit 2
    ;;
esac

cargo build --release -q -p multi-dilation-benches --bin burn_timings "${build_features[@]}"
have_torch=1
python3 -c "import torch" 2>/dev/null || {
    echo "PyTorch not found (pip install torch): burn's numbers only." >&2
    have_torch=0
}
burn_rounds=()
torch_rounds=()
for _ in $(seq "$rounds"); do
    burn_rounds+=("$("$CARGO_TARGET_DIR/release/burn_timings" "$repeats")")
    if [ "$have_torch" = 1 ]; then
        classes="$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["classes"]))' "${burn_rounds[0]}")"
        torch_rounds+=("$(python3 benches/torch_reference.py "$repeats" "$classes")")
    fi
done
# One document per side: each time ("..._ms", "ms") the lowest over the rounds, each rate
# ("..._per_second") the highest, everything else from the first round.
best() {
    python3 - "$@" <<'BEST'
import json, sys


def best(docs):
    first = docs[0]
    if isinstance(first, dict):
        out = {}
        for key, value in first.items():
            values = [doc[key] for doc in docs]
            numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if key == "ms" or key.endswith("_ms"):
                out[key] = min(numbers) if numbers else value
            elif key.endswith("_per_second"):
                out[key] = max(numbers) if numbers else value
            else:
                out[key] = best(values)
        return out
    if isinstance(first, list):
        return [best(list(items)) for items in zip(*docs)]
    return first


print(json.dumps(best([json.loads(doc) for doc in sys.argv[1:]])))
BEST
}
burn_json="$(best "${burn_rounds[@]}")"
torch_json="null"
if [ "$have_torch" = 1 ]; then
    torch_json="$(best "${torch_rounds[@]}")"
fi

python3 - "$burn_json" "$torch_json" "$rounds" "$isa" <<'PY'
import json, math, platform, os, re, sys
burn, torch = json.loads(sys.argv[1]), json.loads(sys.argv[2])
held = sys.argv[4] == "avx2"


def fma_peak():
    """f32 GFLOP/s of every core's FMA units at the clock /proc/cpuinfo reports, and how it was
    computed. Two FMA pipes per core on every x86 core this runs on; 8 f32 lanes each with AVX2,
    and with AVX-512 on AMD's Zen 4 (family 25: 512-bit instructions in two 256-bit halves); 16
    lanes with AVX-512 on Intel and on Zen 5 (family 26)."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return None, "no /proc/cpuinfo"
    field = lambda name: (re.search(rf"^{name}\s*:\s*(.*)$", info, re.M) or [None, ""])[1]
    flags = set(field("flags").split())
    vendor, family, mhz = field("vendor_id"), field("cpu family"), field("cpu MHz")
    if not mhz or "fma" not in flags:
        return None, "no clock or no FMA in /proc/cpuinfo"
    wide = not held and "avx512f" in flags and (vendor == "GenuineIntel" or family not in ("23", "25"))
    lanes = 16 if wide else 8
    per_cycle = 2 * 2 * lanes  # two pipes, one multiply and one add per lane
    cores = os.cpu_count()
    peak = cores * float(mhz) / 1e3 * per_cycle
    isa = "AVX-512 (16 lanes)" if wide else ("AVX-512 on 256-bit pipes" if "avx512f" in flags and not held else "AVX2")
    return peak, f"{cores} cores x {float(mhz) / 1e3:.2f} GHz x {per_cycle} FLOP/cycle ({isa}, 2 FMA pipes)"


peak, how = fma_peak()
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; burn {burn['device']}; "
      f"{sys.argv[3]} round(s), each side's lowest median"
      + (f"; PyTorch {torch['torch']}, {torch['threads']} threads" if torch else ""))
print("instruction set: " + (
    "held to AVX2+FMA (burn without the x86-v4 feature; PyTorch ATEN_CPU_CAPABILITY=avx2, "
    f"ONEDNN_MAX_CPU_ISA=AVX2, capability {torch['capability'] if torch else '-'})" if held else
    f"native (burn's fused-kernel loops: {burn['isa']}; PyTorch capability "
    f"{torch['capability'] if torch else '-'})"))
print(f"FMA peak: {peak:.0f} GFLOP/s = {how}" if peak else f"FMA peak: unknown ({how})")
print(f"{'shape':5} {'mode':8} {'burn ms':>9} {'torch ms':>9} {'burn/torch':>10} {'burn GFLOP/s':>12} {'per-dil. ms':>11} {'layer/per-dil.':>14}")


def measured(table):
    """Each burn row of `table`, with PyTorch's time for it (NaN without PyTorch), burn/torch,
    and burn's GFLOP/s."""
    theirs = {(r["shape"], r["mode"]): r["ms"] for r in torch[table]} if torch else {}
    for row in burn[table]:
        flops = row["forward_gflops"] * (3 if row["mode"] == "fwd+bwd" else 1)
        t = theirs.get((row["shape"], row["mode"]), float("nan"))
        yield row, t, row["ms"] / t, flops / (row["ms"] / 1e3)


ratios = {"fwd": [], "fwd+bwd": []}  # burn/torch per mode, first and third tables


def note(row, ratio):
    if not math.isnan(ratio):
        ratios["fwd+bwd" if row["mode"] == "fwd+bwd" else "fwd"].append(ratio)


for row, t, ratio, rate in measured("layer"):
    note(row, ratio)
    pd = row["per_dilation_ms"]
    print(f"{row['shape']:5} {row['mode']:8} {row['ms']:9.2f} {t:9.2f} {ratio:10.2f} {rate:12.1f} {pd:11.2f} {row['ms'] / pd:14.2f}")
print("branch-parallel layer (forward_parallel: one input per dilation, one kernel; stacked: forward_parallel_stacked,")
print("the branches stacked on the batch axis; PyTorch: a list of F.conv2d with the one weight)")
print(f"{'shape':5} {'mode':8} {'burn ms':>9} {'torch ms':>9} {'burn/torch':>10} {'burn GFLOP/s':>12} {'per-dil. ms':>11} {'layer/per-dil.':>14} {'stacked ms':>10} {'stacked/torch':>13}")
for row, t, ratio, rate in measured("parallel"):
    pd, st = row["per_dilation_ms"], row["stacked_ms"]
    print(f"{row['shape']:5} {row['mode']:8} {row['ms']:9.2f} {t:9.2f} {ratio:10.2f} {rate:12.1f} {pd:11.2f} {row['ms'] / pd:14.2f} {st:10.2f} {st / t:13.2f}")
print("shape classes (auto: the path the default takes, and its time; % peak: its GFLOP/s over the FMA peak;")
print("GFLOP/s count the multiply-adds of one convolution per dilation, forward+backward three times the forward's:")
print("the fused backward does fewer, so its rows can pass 100%)")
print(f"{'shape':6} {'mode':8} {'auto ms':>9} {'torch ms':>9} {'auto/torch':>10} {'GFLOP/s':>8} {'% peak':>6} {'fused ms':>9} {'per-dil. ms':>11} {'auto':>12} {'auto/best':>9}")
for row, t, ratio, rate in measured("classes"):
    note(row, ratio)
    share = 100 * rate / peak if peak else float("nan")
    fused = row["fused_ms"] if row["fused_ms"] is not None else float("nan")
    best = min(v for v in (fused, row["per_dilation_ms"]) if not math.isnan(v))
    print(f"{row['shape']:6} {row['mode']:8} {row['ms']:9.2f} {t:9.2f} {ratio:10.2f} {rate:8.1f} {share:6.1f} {fused:9.2f} {row['per_dilation_ms']:11.2f} {row['auto']:>12} {row['ms'] / best:9.2f}")
b = burn["mnist_train_images_per_second"]
if torch:
    t = torch["mnist_train_images_per_second"]
    print(f"MNIST model training (batch 64, Adam): burn {b:.0f} images/s, PyTorch {t:.0f} images/s, burn/torch {b / t:.2f}")
    for mode in ("fwd+bwd", "fwd"):
        values = ratios[mode]
        print(f"geomean burn/torch {mode}: {math.exp(sum(map(math.log, values)) / len(values)):.2f} "
              f"(worst {max(values):.2f}, {sum(v > 1 for v in values)} of {len(values)} rows above 1)")
else:
    print(f"MNIST model training (batch 64, Adam): burn {b:.0f} images/s")
PY

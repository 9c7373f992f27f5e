#!/usr/bin/env bash
# The 1-D and 3-D layers beside PyTorch on this machine: per shape (RANK_SHAPES in
# benches/src/lib.rs) and mode, milliseconds of burn's default path, of one convolution per
# dilation, of the fused kernel (1-D only: the 2-D kernel on a signal of height 1), of PyTorch
# (F.conv1d / F.conv3d per dilation, torch.cat), and default/PyTorch. burn and PyTorch take
# turns for `rounds` rounds; each side's time is its lowest median.
# Usage: bash benches/compare_ranks.sh [repeats] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
repeats="${1:-10}"
rounds="${2:-2}"
cargo build --release -q -p multi-dilation-benches --bin rank_timings
python3 -c "import torch" || { echo "PyTorch not found (pip install torch)" >&2; exit 1; }
burn=()
torch=()
for _ in $(seq "$rounds"); do
    burn+=("$("$CARGO_TARGET_DIR/release/rank_timings" "$repeats")")
    shapes="$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["shapes"]))' "${burn[0]}")"
    torch+=("$(python3 benches/torch_ranks.py "$repeats" "$shapes")")
done
python3 - "$(printf '%s\n' "${burn[@]}")" "$(printf '%s\n' "${torch[@]}")" <<'PY'
import json, math, sys

burn = [json.loads(line) for line in sys.argv[1].splitlines()]
torch = [json.loads(line) for line in sys.argv[2].splitlines()]


def lowest(docs, key):
    out = {}
    for doc in docs:
        for row in doc["rows"]:
            k = (row["shape"], row["mode"])
            value = row.get(key)
            if value is not None:
                out[k] = min(out.get(k, math.inf), value)
    return out


b = {key: lowest(burn, key) for key in ["auto_ms", "per_dilation_ms", "fused_ms"]}
t = lowest(torch, "ms")
auto = {(r["shape"], r["mode"]): r["auto"] for r in burn[0]["rows"]}
print(f"burn {burn[0]['device']}; PyTorch {torch[0]['torch']}, {torch[0]['threads']} threads; "
      f"{len(burn)} round(s), each side's lowest median")
for s in burn[0]["shapes"]:
    print(f"  {s['name']}: batch {s['batch']}, {s['channels'][0]} -> {s['channels'][1]}, "
          f"size {s['spatial']}, kernel {s['kernel']}, dilations {s['dilations']}")
print(f"{'shape':5} {'mode':8} {'auto ms':>9} {'per-dil. ms':>11} {'fused ms':>9} {'torch ms':>9} "
      f"{'auto/torch':>10} {'auto':>12}")
ratios = []
for key in sorted(t, key=lambda k: ([s["name"] for s in burn[0]["shapes"]].index(k[0]), k[1])):
    a, p, f = b["auto_ms"][key], b["per_dilation_ms"][key], b["fused_ms"].get(key, math.nan)
    ratios.append(a / t[key])
    print(f"{key[0]:5} {key[1]:8} {a:9.2f} {p:11.2f} {f:9.2f} {t[key]:9.2f} {a / t[key]:10.2f} "
          f"{auto[key]:>12}")
print(f"geomean auto/torch: {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}")
PY

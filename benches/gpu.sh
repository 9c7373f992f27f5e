#!/usr/bin/env bash
# On a machine with a GPU: the layer's exactness tests on wgpu (every layer and interop test,
# training steps), then the wgpu criterion benches (forward and forward+backward, S1-S4,
# against independent and single Conv2d). Usage: bash benches/gpu.sh [criterion filter]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
BURN_DEVICE=wgpu cargo test --release -p multi-dilation -p multi-dilation-examples \
    --features multi-dilation/wgpu,multi-dilation-examples/wgpu \
    --test layer --test interop --test wgpu_training
cargo bench -p multi-dilation-benches --features wgpu --bench layer -- "${1:-wgpu/}" \
    --warm-up-time 1 --measurement-time 3

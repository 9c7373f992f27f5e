#!/usr/bin/env bash
# On a machine with a GPU: the layer's exactness tests on wgpu (every layer and interop test,
# the fused CubeCL kernels against the per-dilation path, training steps), then the wgpu
# criterion benches (forward and forward+backward, S1-S4: the layer's default path, forced
# per-dilation, forced fused, against independent and single Conv2d). `layer_fused` against
# `layer_per_dilation` decides whether `ExecutionPath::Auto` should take the fused kernel on
# GPUs (see `fused::is_preferred`). Usage: bash benches/gpu.sh [criterion filter]
#
# Tests and benches share one build: the same packages, features and profile (release). With
# different package sets cargo resolves burn's features differently and builds burn's wgpu
# stack twice: 47 minutes cold for the two release builds on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
packages=(-p multi-dilation -p multi-dilation-examples -p multi-dilation-benches)
features="multi-dilation/wgpu,multi-dilation-examples/wgpu,multi-dilation-benches/wgpu"
BURN_DEVICE=wgpu cargo test --release "${packages[@]}" --features "$features" \
    --test layer --test interop --test wgpu_training
cargo bench --profile release "${packages[@]}" --features "$features" --bench layer -- \
    "${1:-wgpu/}" --warm-up-time 1 --measurement-time 3

#!/usr/bin/env bash
# The GPU measurement as one prepared command, for a GPU machine with no Rust toolchain and no
# package registry (see "On a GPU" in docs/performance.md):
#
#   bash benches/gpu.sh build [cargo features]
#       here: the stripped release binary gpu_bench, xz-compressed, in .gpu/ (features: wgpu by
#       default; add cuda where the build can fetch LLVM), and in .gl/ the Vulkan loader
#       package for a machine without one
#   bash benches/gpu.sh run [gpu_bench args]
#       there (or here on lavapipe with --quick): the exactness check and the timings of the
#       fused kernels against the per-dilation path, then PyTorch on the same shapes; JSON and
#       the table in $OUT (default .gpu/out), the table on stderr too
#
# With the device tool: run `bash benches/gpu.sh run` with carry [".gpu", ".gl"].
# `run` exits with gpu_bench's status: 1 when the fused kernels differ from the per-dilation
# path by more than 1e-4, after the timings and the report are written all the same.
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
    local features="${1:-wgpu}"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
    cargo build --release -p multi-dilation-benches --features "$features" --bin gpu_bench
    # Stripped it is about 100 MB (burn's CPU backends, wgpu and naga included), more than the
    # 64 MiB a GPU machine's working tree may hold; xz brings it to about 18 MB.
    local stripped="$CARGO_TARGET_DIR/release/gpu_bench.stripped"
    strip -o "$stripped" "$CARGO_TARGET_DIR/release/gpu_bench"
    mkdir -p .gpu
    xz -T0 -6 -c "$stripped" >.gpu/gpu_bench.xz
    ls -l "$stripped" .gpu/gpu_bench.xz
    # A machine without a Vulkan loader gets one from these packages (unpacked by `run`).
    if command -v apt-get >/dev/null && [ ! -d .gl ]; then
        local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
        mkdir -p .gl /tmp/amd64/partial
        apt-get "${o[@]}" update -qq &&
            (cd .gl && apt-get "${o[@]}" download libvulkan1) ||
            echo "gpu.sh: no Vulkan loader package fetched; the GPU machine needs its own"
    fi
}

run() {
    local out="${OUT:-.gpu/out}"
    mkdir -p "$out"
    # grep reads all of ldconfig's output (no -q): an early exit would fail the pipeline.
    if ! ldconfig -p 2>/dev/null | grep libvulkan >/dev/null && ls .gl/*.deb >/dev/null 2>&1; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,clocks.max.sm --format=csv
    local status=0
    # Unpacked with Python's lzma: Python is there for PyTorch anyway, xz may not be.
    local bin="${TMPDIR:-/tmp}/gpu_bench"
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
        .gpu/gpu_bench.xz "$bin"
    chmod +x "$bin"
    local start=$SECONDS
    "$bin" "$@" >"$out/burn.json" || status=$?
    echo "gpu.sh: gpu_bench took $((SECONDS - start)) s (status $status)"
    if [ ! -s "$out/burn.json" ]; then
        echo "gpu.sh: gpu_bench printed no report"
        return "$((status == 0 ? 1 : status))"
    fi
    PYTHONUNBUFFERED=1 python3 benches/torch_gpu.py "$out/burn.json" >"$out/report.json" \
        2> >(tee "$out/table.txt" >&2)
    return "$status"
}

case "${1:-}" in
build) shift && build "$@" ;;
run) shift && run "$@" ;;
*)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac

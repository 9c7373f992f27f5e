#!/usr/bin/env bash
# A user's crate: packs multi-dilation and multi-dilation-mnist as `cargo publish` would (the
# packaging check), unpacks them into packaged/, and builds this crate against the packed files
# with the README's dependency lines, so what is tested is what a user would download. The CPU
# lines run their tests (the fused kernel is what a Flex user gets); the GPU lines compile (no
# GPU needed). Usage: bash ci/downstream/run.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' ../../Cargo.toml | head -n 1)"

rm -rf packaged
for crate in multi-dilation multi-dilation-mnist; do
    # --no-verify: building the packed files is what the tests below do, with this lock file.
    cargo publish --dry-run --no-verify --allow-dirty --manifest-path ../../Cargo.toml -p "$crate"
    cargo package --no-verify --allow-dirty --manifest-path ../../Cargo.toml -p "$crate"
    mkdir -p "packaged/$crate"
    tar -xzf "$CARGO_TARGET_DIR/package/$crate-$version.crate" -C "packaged/$crate" \
        --strip-components=1
done

cargo test --locked
# DOCS_RS=1: the cuda runtime depends on cubecl-llvm, whose build script downloads LLVM unless it
# runs for docs.rs (CI reaches only package registries); a check links nothing and needs none.
DOCS_RS=1 cargo check --locked --tests --no-default-features --features wgpu,cuda

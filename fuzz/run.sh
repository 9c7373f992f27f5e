#!/usr/bin/env bash
# A long fuzz run: every target in a process of its own, with its address space capped so
# that an input that makes a parser allocate without bound aborts at once (and is found in
# $CRASH_DIR/<target>-current-input) instead of stalling the machine.
#   bash fuzz/run.sh [inputs per target, default 1000000] [seed, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
inputs="${1:-1000000}"
seed="${2:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/multi-dilation-target}"
# Every input is written to a file before it is parsed; in memory that costs microseconds.
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
cargo test --workspace --test fuzz --no-run -q
echo "| target | inputs | accepted | escaped panics | hangs > 1 s | contained panics | slowest | time |"
echo "|---|---|---|---|---|---|---|---|"
status=0
for target in idx idx_gzip pytorch_zip pytorch_legacy safetensors hdf5; do
    # 4 GiB of address space: the readers need a few MiB; the test binary maps about 1 GiB.
    ( ulimit -v 4194304
      FUZZ_INPUTS="$inputs" FUZZ_SEED="$seed" cargo test -q --workspace --test fuzz "$target" \
          -- --exact --nocapture 2>&1 | grep '^|' ) || { echo "| $target | FAILED: the input is in ${TMPDIR:-/tmp}/multi-dilation-fuzz/ |"; status=1; }
done
exit "$status"

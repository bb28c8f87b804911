#!/usr/bin/env bash
# PPRL throughput and accuracy: encodes N synthetic students and N records of another agency
# (80% the same people, with typos, month/day swaps, no sex and half the SSNs missing; 20%
# strangers), links them one to one and prints records/s, seconds, precision and recall
# (pipeline/examples/pprl_bench.rs). Usage: bench/linkage.sh [N]  (default 1,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p p20w-pipeline --example pprl_bench
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/release"
/usr/bin/time -f "peak resident memory %M KiB, wall %e s" "$target/examples/pprl_bench" "${1:-1000000}"

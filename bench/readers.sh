#!/usr/bin/env bash
# Reader throughput per format: synthesizes a state (which writes every format the connectors
# read), then drains every source of every job file in it through its connector and prints MB/s
# and records/s (pipeline/examples/read_sources.rs). Usage: bench/readers.sh [STUDENTS] [DIR]
set -euo pipefail
students="${1:-100000}"
dir="${2:-/tmp/p20w-readers-$students}"
cd "$(dirname "$0")/.."
# The same build folder and profile as the README's commands.
cargo build --release -q -p p20w-pipeline --bin p20w --example read_sources
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/release"
rm -rf "$dir"
"$target/p20w" synth --out "$dir" --students "$students" > /dev/null
echo "state: $students students, $(du -sh "$dir" | cut -f1) of inputs; $(nproc) cores"
"$target/examples/read_sources" "$dir"/job*.toml

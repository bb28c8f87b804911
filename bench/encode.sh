#!/usr/bin/env bash
# `p20w encode` end to end: writes a person file of N synthetic records (names composed from
# syllables, birth dates, sex, every other SSN; no real person), then times RUNS encodes of it
# (CSV read, record keys, encodings, Parquet written and synced) and prints each run's wall
# time, records/s, CPU use and peak memory. Usage: bench/encode.sh [N] [RUNS]
# (default 1,000,000 records, 5 runs).
set -euo pipefail
n="${1:-1000000}"
runs="${2:-5}"
dir="/tmp/p20w-encode-$n"
cd "$(dirname "$0")/.."
cargo build --release -q -p p20w-pipeline --bin p20w
p20w="$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/release/p20w"
mkdir -p "$dir"
if [ ! -s "$dir/people.csv" ]; then
  python3 - "$n" "$dir/people.csv" <<'PY'
import random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261207)
syl = ["ma", "ri", "jo", "an", "el", "ka", "lu", "se", "ta", "no", "vi", "de", "ha", "mi",
       "sa", "bo", "ter", "lin", "son", "ber"]
with open(out, "w") as f:
    f.write("record_id,given_name,family_name,birth_date,sex,ssn\n")
    for i in range(n):
        given = "".join(rng.choice(syl) for _ in range(2)).capitalize()
        family = "".join(rng.choice(syl) for _ in range(3)).capitalize()
        birth = f"{rng.randint(1995, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        # Valid in form (so each is pseudonymized, as a real file's are), drawn at random.
        ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}" if i % 2 else ""
        f.write(f"R{i:08d},{given},{family},{birth},{rng.choice('MF')},{ssn}\n")
PY
fi
"$p20w" keygen "$dir/key.hex" > /dev/null 2>&1 || true
echo "$n records, $(du -h "$dir/people.csv" | cut -f1) CSV; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$runs"); do
  /usr/bin/time -f "%e %P %M" -o "$dir/time" \
    "$p20w" encode "$dir/people.csv" --key "$dir/key.hex" --agreement bench --out "$dir/encoded.parquet" > /dev/null
  read -r wall cpu kib < "$dir/time"
  echo "run $run: $wall s, $(python3 -c "print(f'{$n / $wall:,.0f}')") records/s, CPU $cpu, peak $((kib / 1024)) MiB"
done

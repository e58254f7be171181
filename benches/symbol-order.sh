#!/usr/bin/env bash
# Regenerates data/symbol-order.txt, the order in which a release build of
# lakehunt lays out its functions (see build.rs and the README's performance
# section): every function a hunt runs, as Valgrind's callgrind sees it, over
# generated samples in each layout, sorted by name (only being together counts;
# sorted, a regenerated file differs only where the code did). Run it after a toolchain or dependency
# update (symbol names carry hashes of both; names that no longer exist are
# ignored by the linker, so a stale file only loses its effect).
#
#   benches/symbol-order.sh            # needs valgrind and python3
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "symbol-order.sh: needs valgrind" >&2; exit 2; }
# Without the current ordering: it must not bias what is measured.
LAKEHUNT_NO_SYMBOL_ORDER=1 cargo build --release --bin lakehunt
bin="${CARGO_TARGET_DIR:-target}/release/lakehunt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

as_of=2026-01-15T12:00:00Z
# Each layout once, the findings written each way: Parquet, CSV, the table.
declare -A out=([nested]="--out $work/findings.parquet" [flat]="--out $work/findings.csv" [ocsf]="")
for layout in nested flat ocsf; do
  "$bin" sample --out "$work/$layout" --rows 2000000 --rows-per-file 500000 \
    --layout "$layout" --as-of "$as_of"
  # shellcheck disable=SC2086 # the --out words split on purpose
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$layout" \
    "$bin" run egress-bytes --data "$work/$layout" --as-of "$as_of" --quiet ${out[$layout]} \
    >/dev/null 2>"$work/valgrind.$layout.log"
done

nm --defined-only "$bin" | awk '$2 == "t" || $2 == "T" { print $3 }' | sort -u >"$work/defined"
python3 - "$work" >data/symbol-order.txt <<'EOF'
import re, sys
work = sys.argv[1]
defined = set(open(f"{work}/defined").read().split())
run = set()
for layout in ("nested", "flat", "ocsf"):
    for line in open(f"{work}/cg.{layout}"):
        m = re.match(r"^c?fn=\(\d+\) (\S+)", line)
        if m and m.group(1) in defined:
            run.add(m.group(1))
print("\n".join(sorted(run)))
EOF
echo "data/symbol-order.txt: $(wc -l <data/symbol-order.txt) functions" >&2

#!/usr/bin/env bash
# Instruction counts of corio's workloads under valgrind's callgrind: repeatable on a loaded machine, where
# wall-clock figures drift. Each workload runs once on corio alone (`--quick --reps 1`: a warm-up run of a tenth
# of the operations, then one run), so the count covers 1.1x the quick operation count plus the loop's setup.
#
#   benches/callgrind.sh [BINARY] [WORKLOAD...]     default: target/release/corio-bench, W1-W9
#
# Compare two builds by running it on each binary; the commit messages of optimisations quote both.
set -euo pipefail
bin=${1:-target/release/corio-bench}
shift || true
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(W1 W2 W3 W4 W5 W6 W7 W8 W9)
for w in "${workloads[@]}"; do
    ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --quick --reps 1 --runtime corio "$w" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    printf '%-5s %14s Ir\n' "$w" "$ir"
done

#!/usr/bin/env bash
# The HTTP/1.1 plaintext benchmark: "Hello, World!" through hyper on each
# runtime (benches/src/bin/http_server.rs), loaded by `wrk -t1 -c64` over
# loopback, ROUNDS alternating rounds in one run (the order of the runtimes
# rotates each round), then a system-call pass per runtime.
#
#   benches/http.sh                       # 3 rounds of 5 s per runtime
#   HTTP_BENCH_DURATION=10 HTTP_BENCH_ROUNDS=5 HTTP_BENCH_RUNTIMES="corio tokio-ct" benches/http.sh
#
# Per run: requests/s and the p50 and p99 latency (wrk --latency), and the
# server's user and system CPU time per request (/proc/PID/stat over the
# measured seconds). Then, per runtime, one more 3 s load run under
# `perf stat -p SERVER -- wrk ...`, which counts the server's system calls
# (every thread; syscalls:sys_enter_*) while wrk runs, divided by the
# requests wrk completed: calls per request, and the calls that make them.
#
# Needs wrk (apt-get install -y wrk) and, for the system calls, perf (the
# pass is skipped without it). Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${HTTP_BENCH_DURATION:-5}"
ROUNDS="${HTTP_BENCH_ROUNDS:-3}"
read -r -a RUNTIMES <<< "${HTTP_BENCH_RUNTIMES:-corio corio-uring corio-2L tokio-ct tokio-mt smol}"
CONNECTIONS=64

command -v wrk >/dev/null || { echo "benches/http.sh needs wrk: apt-get install -y wrk" >&2; exit 2; }
cargo build --release --quiet -p corio-bench --bin http_server
BIN="$PWD/target/release/http_server"
TMP="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
TICKS="$(getconf CLK_TCK)"

# start RUNTIME: starts a server, sets PID and URL.
start() {
    "$BIN" "$1" 127.0.0.1:0 > "$TMP/server.out" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$TMP/server.out" 2>/dev/null && break
        sleep 0.05
    done
    URL="http://$(sed -n 's/^listening on //p' "$TMP/server.out")/"
    [ "$URL" != "http:///" ] || { echo "the $1 server did not start:" >&2; cat "$TMP/server.out" >&2; exit 1; }
}

stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }

# cpu: the server's user and system clock ticks, all threads.
cpu() { awk '{print $14, $15}' "/proc/$PID/stat"; }

# A wrk latency line ("50%    1.23ms") in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") m = 1; else if (u == "ms") m = 1000; else if (u == "s") m = 1000000; else m = 0
        printf "%.0f", n * m }'
}

RESULTS="$TMP/results"
: > "$RESULTS"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds" >&2
for round in $(seq "$ROUNDS"); do
    n=${#RUNTIMES[@]}
    for i in $(seq 0 $((n - 1))); do
        rt="${RUNTIMES[$(( (i + round - 1) % n ))]}"
        start "$rt"
        wrk -t1 -c"$CONNECTIONS" -d1s "$URL" > /dev/null # warm-up
        read -r u0 s0 < <(cpu)
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" > "$TMP/wrk.out"
        read -r u1 s1 < <(cpu)
        stop
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out")
        requests=$(awk '/ requests in / {print $1}' "$TMP/wrk.out")
        p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$TMP/wrk.out")")
        p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$TMP/wrk.out")")
        errors=$(grep -c -E 'Socket errors|Non-2xx' "$TMP/wrk.out" || true)
        user_us=$(awk -v a="$u0" -v b="$u1" -v t="$TICKS" -v r="$requests" 'BEGIN {printf "%.2f", (b - a) / t * 1e6 / r}')
        sys_us=$(awk -v a="$s0" -v b="$s1" -v t="$TICKS" -v r="$requests" 'BEGIN {printf "%.2f", (b - a) / t * 1e6 / r}')
        echo "$round $rt $rps $p50 $p99 $user_us $sys_us $errors" >> "$RESULTS"
        printf 'round %s %-12s %10s req/s  p50 %6s us  p99 %6s us  user %s us/req  sys %s us/req%s\n' \
            "$round" "$rt" "$rps" "$p50" "$p99" "$user_us" "$sys_us" "$([ "$errors" = 0 ] || echo "  WRK ERRORS")" >&2
    done
done

# System calls per request, and which.
SYSCALLS="$TMP/syscalls"
: > "$SYSCALLS"
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
    for rt in "${RUNTIMES[@]}"; do
        start "$rt"
        wrk -t1 -c"$CONNECTIONS" -d1s "$URL" > /dev/null
        perf stat -x, -e 'syscalls:sys_enter_*' -p "$PID" -o "$TMP/perf.out" -- \
            wrk -t1 -c"$CONNECTIONS" -d3s "$URL" > "$TMP/wrk.out"
        stop
        requests=$(awk '/ requests in / {print $1}' "$TMP/wrk.out")
        awk -F, -v rt="$rt" -v requests="$requests" '
            $1 ~ /^[0-9]+$/ && $1 > 0 { name = $3; sub(/^syscalls:sys_enter_/, "", name); calls[name] = $1; total += $1 }
            END {
                line = sprintf("%s %.2f", rt, total / requests)
                n = 0
                for (c in calls) if (calls[c] / requests >= 0.01) line = line sprintf(" %s=%.2f", c, calls[c] / requests)
                print line
            }' "$TMP/perf.out" >> "$SYSCALLS"
    done
else
    echo "perf not available: no system-call counts" >&2
fi

# The table: medians over the rounds.
echo
echo "| runtime | req/s (median of $ROUNDS) | ratio to the best single-thread peer | p50 µs | p99 µs | user µs/req | sys µs/req | syscalls/req | the calls (per request) |"
echo "|---|---|---|---|---|---|---|---|---|"
python3 - "$RESULTS" "$SYSCALLS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, rt, rps, p50, p99, user, sys_, err = line.split()
    rows.setdefault(rt, []).append((float(rps), int(p50), int(p99), float(user), float(sys_), int(err)))
calls = {}
for line in open(sys.argv[2]):
    parts = line.split()
    calls[parts[0]] = (parts[1], " ".join(sorted(parts[2:], key=lambda kv: -float(kv.split("=")[1]))))
med = lambda xs: statistics.median(xs)
best_peer = max((med([r[0] for r in rows[p]]) for p in ("tokio-ct", "smol") if p in rows), default=None)
for rt, rs in rows.items():
    rps = med([r[0] for r in rs])
    ratio = f"{rps / best_peer:.2f}" if best_peer else "-"
    total, which = calls.get(rt, ("-", ""))
    errs = sum(r[5] for r in rs)
    note = " (wrk errors!)" if errs else ""
    print(f"| {rt}{note} | {rps:,.0f} ({', '.join(f'{r[0]:,.0f}' for r in rs)}) | {ratio} | {med([r[1] for r in rs])} | "
          f"{med([r[2] for r in rs])} | {med([r[3] for r in rs]):.2f} | {med([r[4] for r in rs]):.2f} | {total} | {which} |")
PY

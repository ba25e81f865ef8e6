#!/usr/bin/env bash
# corio's broad mutation score: cargo-mutants rewrites corio-core systematically (a function body replaced by a
# default, an operator flipped, a `!` deleted...) and every rewrite the tests do not notice is a blind spot.
# verify/mutants.sh plants a few dozen known-dangerous bugs by hand; this script measures how much of the code the
# tests watch. It is a developer's tool, not a CI stage (a shard takes tens of minutes to hours on 2 cores).
#
# Usage:
#   verify/cargo-mutants.sh SHARD...        sweep these shards (one cargo-mutants run each, one after the other)
#   verify/cargo-mutants.sh --list          print the shard table
#   verify/cargo-mutants.sh --in-diff [BASE]
#                                           mutate only the lines of corio-core that differ from BASE (default
#                                           main), tested with every sync/time/structured target: the check to
#                                           run before sending a change
# Environment:
#   MUTANTS_TIMEOUT=SECONDS        test-phase limit per mutant (default 60; unmutated, each shard's tests take under 10 s); a hang counts as TIMEOUT
#   MUTANTS_BUILD_TIMEOUT=SECONDS  build-phase limit (default 2400: the first build of a sweep starts empty)
#   MUTANTS_JOBS=N                 cargo-mutants' parallel build directories (default 1; each is a full copy
#                                  of the tree with its own target directory, ~2-3 GB)
#   MUTANTS_TMPDIR=DIR             where the copies go (default $TMPDIR or /tmp; keep it on a disk with room)
#   MUTANTS_IN_PLACE=1             mutate this tree and build in its own target/ (cargo-mutants --in-place): no
#                                  copy, no first build from scratch (which takes ~25 minutes on a loaded 2-core
#                                  machine: cargo-mutants' copies do not keep file times, so even --copy-target
#                                  rebuilds every dependency). Do not edit sources under core/ while it runs;
#                                  cargo-mutants puts each file back after its mutant (check `git status` if the
#                                  run was killed). A proptest that fails under a mutant saves its seed in
#                                  verify/proptest-regressions/: delete such new files after the run
#   MUTANTS_SKIP_BASELINE=1        skip the script's own run of the shard's tests on the unmutated tree
#   MUTANTS_EXTRA='ARGS'           more cargo-mutants arguments, e.g. '--re event_wait', '--list', '--iterate', or
#                                  '--shard 0/2' here and '--shard 1/2' in a second clone (two lanes on two cores)
#   MUTANTS_UNIT=1                 also run corio-core's own unit tests (`cargo test -p corio-core --lib`): a
#                                  second, test-mode build of corio-core per mutant, so worth it on the
#                                  `--iterate` pass over the survivors rather than on the first sweep; the
#                                  `wheel` shard needs it (the timer queue's parts are watched from inside
#                                  by corio-core's unit tests, from outside only by when timers fire)
# Output: target/cargo-mutants/SHARD/mutants.out/ (caught.txt, missed.txt, timeout.txt, unviable.txt, one log per
# mutant with its diff and the test output) and a summary line per shard.
#
# How the tests are chosen. The mutated code is in corio-core, its tests in the facade (`corio`: tests/rules_*.rs,
# tests/conformance.rs) and in `corio-verify` (the prop_sync_* state machines). `.cargo/mutants.toml` sets
# `test_package = ["corio", "corio-verify"]`, so cargo-mutants builds and tests each mutant with
# `cargo test --package=corio@… --package=corio-verify@…`; the shard's `--test=NAME` filters are given with
# `--cargo-arg`, which cargo-mutants adds to both the build and the test phase, so only those targets are built
# (building every test binary of both packages per mutant would cost minutes). cargo-mutants' own baseline always
# runs the *mutated* package (`--package=corio-core`, cargo-mutants 27.1), where those filters name no target, so
# the script passes `--baseline=skip` and runs the identical `cargo test` on the unmutated tree itself first: a shard
# whose tests fail unmutated is not swept. Loom models are not in the shards: they need `--cfg corio_loom` for the
# whole build, and verify/mutants.sh already covers them with planted mutants.
#
# THE SHARDS (between SHARDS and its closing EOF): NAME | FILES (globs under the repo root) | TEST TARGETS.

set -uo pipefail

read -r -d '' SHARDS <<'EOF'
event        | core/src/sync/event.rs                          | rules_sync conformance prop_sync_event
waiters      | core/src/sync/waiters.rs core/src/sync/permits.rs | rules_sync toolbox_sync cpython_locks memory prop_sync_event prop_sync_permits prop_sync_condition prop_sync_barrier prop_sync_rwlock
lock         | core/src/sync/lock.rs core/src/sync/semaphore.rs core/src/sync/mutex.rs core/src/sync/rwlock.rs | rules_sync toolbox_sync cpython_locks memory prop_sync_event prop_sync_permits prop_sync_condition prop_sync_barrier prop_sync_rwlock
condition    | core/src/sync/condition.rs core/src/sync/notify.rs core/src/sync/barrier.rs | rules_sync toolbox_sync cpython_locks memory prop_sync_event prop_sync_permits prop_sync_condition prop_sync_barrier prop_sync_rwlock
queue        | core/src/sync/queue/*.rs                        | rules_sync toolbox_sync conformance cpython_queues memory prop_sync_queue
channel      | core/src/sync/channel/**/*.rs                   | rules_sync toolbox_sync toolbox_select memory prop_sync_mpsc prop_sync_broadcast prop_sync_watch
time         | core/src/time/*.rs                              | toolbox_time toolbox_select debugging rules_timeouts rules_loop far_deadlines timer_deadlines memory prop_timers
structured   | core/src/structured/**/*.rs                     | rules_scopes rules_groups rules_timeouts rules_cancel rules_cancel_at_end rules_combinators cpython_taskgroups cpython_timeouts cpython_waitfor toolbox_select far_deadlines memory prop_task_trees
task-state   | core/src/task/state.rs                          | rules_tasks rules_cancel rules_cancel_race rules_timeouts rules_scopes rules_groups cpython_tasks conformance memory prop_task_trees
timers       | core/src/runtime/timers.rs                      | prop_timers toolbox_time debugging rules_timeouts rules_loop far_deadlines timer_deadlines memory
wheel        | core/src/runtime/timers/*.rs                    | prop_timers toolbox_time debugging rules_timeouts rules_loop far_deadlines timer_deadlines memory
EOF

IN_DIFF_TESTS="rules_sync rules_tasks memory cpython_locks rules_cancel rules_timeouts rules_scopes rules_groups toolbox_sync toolbox_time
conformance prop_sync_event prop_sync_permits prop_sync_condition prop_sync_queue prop_timers prop_task_trees"

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

shard_field() { # NAME FIELD(2|3)
    printf '%s\n' "$SHARDS" | awk -F'|' -v n="$1" -v f="$2" '{ gsub(/^ +| +$/, "", $1) } $1 == n { print $f }'
}

if [[ ${1:-} == --list || $# -eq 0 ]]; then
    printf '%s\n' "$SHARDS"
    [[ $# -eq 0 ]] && echo "usage: $0 SHARD... | --list | --in-diff [BASE]" >&2
    exit 0
fi

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "cargo-mutants is missing: installing it (cargo install --locked cargo-mutants)" >&2
    cargo install --locked cargo-mutants || exit 2
fi

tmp=${MUTANTS_TMPDIR:-${TMPDIR:-/tmp}}
mkdir -p "$tmp"
if [[ -n ${MUTANTS_IN_PLACE:-} ]]; then
    where=(--in-place)
else
    where=(--jobs "${MUTANTS_JOBS:-1}")
fi
status=0

# sweep NAME TESTS CARGO-MUTANTS-ARGS...
sweep() {
    local name=$1 tests=$2
    shift 2
    local test_args=() mutant_args=()
    for t in $tests; do
        test_args+=(--test "$t")
        mutant_args+=("--cargo-arg=--test=$t")
    done
    if [[ -n ${MUTANTS_UNIT:-} ]]; then
        test_args+=(-p corio-core --lib)
        mutant_args+=(--cargo-arg=--package=corio-core --cargo-arg=--lib)
    fi
    if [[ -z ${MUTANTS_SKIP_BASELINE:-} ]]; then
        echo "== $name: the tests on the unmutated tree: cargo test -p corio -p corio-verify ${test_args[*]}"
        if ! nice -n 19 cargo test -q -p corio -p corio-verify "${test_args[@]}" >"$root/target/cargo-mutants/$name.baseline.log" 2>&1; then
            echo "== $name: the tests FAIL without a mutant (target/cargo-mutants/$name.baseline.log): not swept"
            status=1
            return
        fi
    fi
    local out=$root/target/cargo-mutants/$name
    echo "== $name: cargo mutants $* (tests: $tests)"
    # shellcheck disable=SC2086 # MUTANTS_EXTRA is a list of words
    TMPDIR=$tmp nice -n 19 cargo mutants --package corio-core "$@" --baseline=skip \
        --timeout "${MUTANTS_TIMEOUT:-60}" --build-timeout "${MUTANTS_BUILD_TIMEOUT:-2400}" \
        "${where[@]}" --output "$out" --no-shuffle "${mutant_args[@]}" ${MUTANTS_EXTRA:-}
    local rc=$?
    local o=$out/mutants.out
    if [[ -d $o ]]; then
        count() { if [[ -f $o/$1.txt ]]; then grep -c . "$o/$1.txt" || true; else echo 0; fi; }
        echo "== $name: caught $(count caught), missed $(count missed), timeout $(count timeout), unviable $(count unviable)"
        if [[ -s $o/missed.txt ]]; then
            echo "== $name: missed:"
            sed 's/^/   /' "$o/missed.txt"
        fi
    fi
    # cargo-mutants exits 2 when some mutant was missed, 3 on timeouts: keep sweeping the other shards.
    [[ $rc -ne 0 ]] && status=1
}

mkdir -p "$root/target/cargo-mutants"
if [[ $1 == --in-diff ]]; then
    base=${2:-main}
    diff=$root/target/cargo-mutants/in-diff.diff
    git diff "$base" -- core/src >"$diff"
    if [[ ! -s $diff ]]; then
        echo "no change under core/src since $base"
        exit 0
    fi
    sweep in-diff "$IN_DIFF_TESTS" --in-diff "$diff"
    exit $status
fi

for name in "$@"; do
    files=$(shard_field "$name" 2)
    tests=$(shard_field "$name" 3)
    if [[ -z $files ]]; then
        echo "unknown shard $name (see --list)" >&2
        exit 2
    fi
    file_args=()
    set -f # the globs are cargo-mutants' (`**` spans directories), not the shell's
    for f in $files; do
        file_args+=(--file "$f")
    done
    set +f
    sweep "$name" "$tests" "${file_args[@]}"
done
exit $status

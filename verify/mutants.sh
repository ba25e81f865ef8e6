#!/usr/bin/env bash
# corio's mutation check: a check that cannot fail proves nothing.
#
# Each known-dangerous bug is a small patch, verify/mutants/NAME.patch (a unified diff against the repository
# root, as `git diff` writes it), kept beside the code instead of in it. For every mutant in the table below this
# script applies the patch to a scratch copy of the tree (target/mutants/tree), builds there, runs the mutant's
# check and requires it to FAIL (a non-zero exit: a failed assertion, a loom deadlock or leak report, or a loom
# abort; never `#[should_panic]`, since loom aborts the process on a deadlock), then takes the patch out again.
# The product code never contains a planted bug.
#
# Before that:
#   * the scratch copy is brought up to date with the working tree (files whose content changed are copied,
#     files gone are removed; nothing else is touched, so cargo rebuilds only what changed);
#   * every patch must apply to it: a patch that no longer applies is reported STALE and fails the run, so a
#     mutant cannot rot silently when the code it mutates changes;
#   * every patch must be in the table and every table row must have a patch;
#   * every distinct check is run once on the un-mutated copy and must PASS; a mutant whose check fails
#     without the mutant proves nothing and is reported INVALID.
#
# Builds are incremental (release too): a patch touches one function, so a mutant's build recompiles little.
#
# Usage:
#   verify/mutants.sh                 run every mutant in the table
#   verify/mutants.sh NAME...         run only these mutants
#   verify/mutants.sh --list          print the table
# Environment:
#   MUTANTS_SKIP_BASELINE=1           skip the un-mutated runs (when you just ran them)
#   MUTANTS_TIMEOUT=SECONDS           limit per check run (default 900); a timeout counts as not caught
#   MUTANTS_DIR=DIR                   where the scratch copy and its builds live (default target/mutants)
#   MUTANTS_TARGET_DIR, MUTANTS_LOOM_TARGET_DIR   the copy's cargo target directories (default MUTANTS_DIR/build
#                                     and MUTANTS_DIR/loom). CI points them at its own target/ and target/loom:
#                                     dependencies built there are reused (only the workspace's crates, whose
#                                     paths differ, build again), and nothing runs from target/ after the mutants.
#   LOOM_MAX_PREEMPTIONS, LOOM_MAX_BRANCHES   loom bounds (defaults 2 and 10000, the CI settings)
# Output: one line per mutant (caught / SURVIVED / INVALID / STALE / BUILD-FAILED / TIMEOUT), then
# `N/M mutants caught`. Exit status: 0 iff every selected mutant was caught. Logs: target/mutants-logs/.
#
# Writing a mutant: plant the bug in the working tree, with a `// MUTANT (check): what it breaks` comment
# above it, save `git diff > verify/mutants/NAME.patch`, take the bug out again (`git checkout -p`), and add a
# row to the table. `verify/mutants.sh NAME` must then print `caught`.
#
# THE TABLE (below, between MUTANTS and its closing EOF): one mutant per line,
#
#     NAME | COMMAND
#
# NAME names the patch. COMMAND is a shell command, run from the scratch copy's root, that must exit non-zero
# when the mutant is planted and zero when it is not. Prefix it with `loom ` for a loom model: that runs the rest
# with RUSTFLAGS="--cfg corio_loom" in a target directory of its own (and the loom bounds above). The script
# builds first, with `--no-run` added after `cargo test` (and anything after ` -- ` dropped), so that a mutant
# that does not compile is reported BUILD-FAILED rather than counted as caught. Blank lines and lines starting
# with `#` are ignored.

set -uo pipefail

read -r -d '' MUTANTS <<'EOF'
# Loom models (verify/tests/loom_*.rs).
waker_refcount_nonatomic  | loom cargo test -p corio-verify --release --test loom_waker_refs
requeue_nonatomic         | loom cargo test -p corio-verify --release --test loom_waker_refs -- a_remote_wake_lands_while_the_yielded_task_is_queued
handle_drop_nonatomic     | loom cargo test -p corio-verify --release --test loom_handle_drop
release_two_miscounts     | loom cargo test -p corio-verify --release --test loom_handle_drop
join_waker_unchecked      | loom cargo test -p corio-verify --release --test loom_join
park_check_before_flag    | loom cargo test -p corio-verify --release --test loom_park
park_flag_cleared_early   | loom cargo test -p corio-verify --release --test loom_park
close_skips_remote_spawns | loom cargo test -p corio-verify --release --test loom_shutdown
post_accepts_after_close  | loom cargo test -p corio-verify --release --test loom_shutdown
blocking_withdraw_racy    | loom cargo test -p corio-verify --release --test loom_blocking
blocking_waker_no_recheck | loom cargo test -p corio-verify --release --test loom_blocking
pool_wake_uncounted       | loom cargo test -p corio-verify --release --test loom_blocking
spinner_trusts_its_look   | loom cargo test -p corio-verify --release --test loom_blocking -- a_submission_races_the_spinner
# Loom model 8: the synchronisation primitives (verify/tests/loom_sync.rs).
lock_handoff_to_cancelled  | loom cargo test -p corio-verify --release --test loom_sync
condition_lose_notify      | loom cargo test -p corio-verify --release --test loom_sync
event_set_no_wake          | loom cargo test -p corio-verify --release --test loom_sync
queue_getter_keeps_promise | loom cargo test -p corio-verify --release --test loom_sync
oneshot_no_wake            | loom cargo test -p corio-verify --release --test loom_sync
mpsc_no_rx_wake            | loom cargo test -p corio-verify --release --test loom_sync
abort_overrides_completion | loom cargo test -p corio-verify --release --test loom_cancel
cancel_request_no_wake    | loom cargo test -p corio-verify --release --test loom_cancel
completion_finish_two_step | loom cargo test -p corio-verify --release --test loom_cancel
group_abort_forgets_children | loom cargo test -p corio-verify --release --test loom_group
group_zero_check_before_remove | loom cargo test -p corio-verify --release --test loom_group
# Loom model 10: the cross-loop hand-off of the multi-loop runtime (verify/tests/loom_spawn_on.rs).
spawn_on_skips_unpark     | loom cargo test -p corio-verify --release --test loom_spawn_on
# Loom model 11: the pool of a multi-loop runtime, tasks that any loop may run (verify/tests/loom_pool.rs).
pool_idle_unchecked       | loom cargo test -p corio-verify --release --test loom_pool -- a_spawn_from_outside
pool_kick_lost            | loom cargo test -p corio-verify --release --test loom_pool -- a_spawn_from_outside
pool_queue_kept_on_leave  | loom cargo test -p corio-verify --release --test loom_pool -- a_loop_that_stops
pool_never_steals         | loom cargo test -p corio-verify --release --test loom_pool -- an_idle_loop_steals
pool_cancel_no_wake       | loom cargo test -p corio-verify --release --test loom_pool -- a_cancel_from_another

# Timers (issue 28): the timer queue against its sorted-map reference (verify/tests/prop_timers.rs).
skip_timer_purge          | cargo test -p corio-verify --release --test prop_timers -- timer_queue_memory_bounded
sorted_run_takes_any      | cargo test -p corio-verify --release --test prop_timers -- timer_queue_matches_reference
wheel_cascade_drops_timer | cargo test -p corio-verify --release --test prop_timers -- timer_queue_matches_reference
wheel_slot_one_tick_early | cargo test -p corio-verify --release --test prop_timers -- timer_queue_matches_reference
wheel_sort_ignores_seq    | cargo test -p corio-verify --release --test prop_timers -- timer_queue_matches_reference
origin_first_deadline     | cargo test -p corio-verify --release --test prop_timers -- timer_queue_matches_reference

# Properties (verify/tests/prop_*.rs).
batch_not_snapshot        | cargo test -p corio-verify --release --test prop_loop_order
timeout_converts_foreign_cancel | cargo test -p corio-verify --release --test prop_task_trees
group_cancelled_child_fails | cargo test -p corio-verify --release --test prop_task_trees

# Sync-primitive state machines (verify/tests/prop_sync_*.rs).
waiters_lifo               | cargo test -p corio-verify --release --test prop_sync_permits
release_unchecked          | cargo test -p corio-verify --release --test prop_sync_permits
queue_immediate_keeps_items | cargo test -p corio-verify --release --test prop_sync_queue
event_clear_swallows_set   | cargo test -p corio-verify --release --test prop_sync_event
condition_cancel_skips_relock | cargo test -p corio-verify --release --test prop_sync_condition
barrier_cancel_keeps_count | cargo test -p corio-verify --release --test prop_sync_barrier
mpsc_sender_keeps_slot     | cargo test -p corio-verify --release --test prop_sync_mpsc

# The everyday toolbox (issue 22): Mutex<T>, RwLock<T>, Notify, broadcast, watch, interval.
mutex_owned_guard_leaks         | loom cargo test -p corio-verify --release --test loom_toolbox -- mutex_owned_hand_over
rwlock_release_no_grant         | loom cargo test -p corio-verify --release --test loom_toolbox -- rwlock_writer_behind_readers
notify_permit_race              | loom cargo test -p corio-verify --release --test loom_toolbox -- notify_one_before_or_after_the_wait
broadcast_close_no_wake         | loom cargo test -p corio-verify --release --test loom_toolbox -- broadcast_lag_and_close
watch_wake_before_version       | loom cargo test -p corio-verify --release --test loom_toolbox -- watch_changed_sees_every_send
rwlock_writer_leave_no_regrant  | PROPTEST_CASES=4096 cargo test -p corio-verify --release --test prop_sync_rwlock
broadcast_lag_unreported        | cargo test -p corio-verify --release --test prop_sync_broadcast
watch_unmodified_counts         | cargo test -p corio-verify --release --test prop_sync_watch
interval_burst_skips            | cargo test -p corio --test toolbox_time -- missed_ticks

# Call contracts (verify/tests/mock_*.rs).
poll_every_iteration      | cargo test -p corio-verify --release --test mock_reactor_calls
notify_always             | cargo test -p corio-verify --release --test mock_reactor_calls

# Metrics (issue 6): tests/metrics.rs.
metrics_local_wake_counted | cargo test -p corio --test metrics
metrics_timers_count_cancelled | cargo test -p corio --test metrics
timeout_deferred_loses_place | cargo test -p corio --test rules_timeouts
timed_keeps_future           | cargo test -p corio --test rules_timeouts
delivered_not_marked         | cargo test -p corio --test rules_timeouts
requeue_lost                 | cargo test -p corio --test rules_loop -- requeues
own_wake_takes_any_task      | cargo test -p corio --test rules_loop -- a_wake_on_the_tasks_own_waker
second_delivery_dropped      | cargo test -p corio --test rules_timeouts -- while_an_earlier_one_is_still_held
adopt_reuses_shared_token    | cargo test -p corio --test rules_cancel -- awaiting_a_cancelled_task
join_waker_unowned           | cargo test -p corio --test rules_tasks -- a_joiner
task_context_id_shared       | cargo test -p corio --test rules_context -- x3_
task_context_left_in         | cargo test -p corio --test rules_context
# I/O (issue 5): the faults suite, the accept loop, the io_uring backend.
deregister_forgets_waiters | cargo test -p corio --test io_suite -- mock::a_source_deregistered
accept_backoff_fixed      | cargo test -p corio --test io_emfile
uring_no_rearm            | cargo test -p corio-backends --features uring --lib -- uring::tests::multishot
inq_clears_on_any_read    | cargo test -p corio --test io_tcp_inq
inq_never_clears          | cargo test -p corio --test io_tcp_inq

# Debugging (issue 7): debug mode, task dumps, teardown (tests/debugging.rs).
slow_poll_timed_from_end  | cargo test -p corio --test debugging -- d1_
checkpoint_not_stored     | cargo test -p corio --test debugging -- d3_
suspension_location_dropped | cargo test -p corio --test debugging -- d3_
origin_name_dropped       | cargo test -p corio --test rules_tasks -- t1_eager_task_runs_until_its_first_suspension_inside_spawn
refcount_overlaps_owner   | cargo test -p corio-core --lib -- state::tests
cell_cache_wrong_class    | cargo test -p corio-core --lib -- task::cell_cache::tests
default_handler_skips_log | cargo test -p corio --test debugging -- d2_
shutdown_skips_grace      | cargo test -p corio --test debugging -- teardown_
shutdown_ignores_late_tasks | cargo test -p corio --test debugging -- teardown_lets_cleanup
task_span_not_entered     | cargo test -p corio --features tracing --test tracing_spans

# Fidelity (issue 25): the sync primitives' asyncio semantics (draining barrier, the semaphore's line).
barrier_no_draining          | cargo test -p corio-verify --release --test prop_sync_barrier
barrier_abort_spares_released | cargo test -p corio-verify --release --test prop_sync_barrier
permits_barge_past_pending   | cargo test -p corio-verify --release --test prop_sync_permits
resume_reads_line_first      | loom cargo test -p corio-verify --release --test loom_sync -- semaphore_newcomer_behind_a_resuming_waiter

# cargo-mutants survivors that only a cross-thread race reaches (docs/verification.md, "Mutation score").
release_skips_recheck        | loom cargo test -p corio-verify --release --test loom_sync -- lock_granted_then_abandoned_passes_on
acquire_queues_past_a_free_permit | loom cargo test -p corio-verify --release --test loom_sync -- condition_abandoned_notification_goes_to_another_waiter
acquire_takes_a_free_permit_wrong | loom cargo test -p corio-verify --release --test loom_sync -- semaphore_newcomer_behind_a_resuming_waiter

# Backend choice (issue 21): src/backend/, the mock backend chosen by name, tests/backend_*.rs, verify/additive/.
default_prefers_uring     | cargo test -p corio-additive-app
env_ignored               | cargo test -p corio --features uring,portable,mock --test backend_env
explicit_falls_back       | cargo test -p corio --features uring,portable,mock --test backend_fallback
no_fallback               | cargo test -p corio --lib -- backend::
mock_accepts_real_fds     | cargo test -p corio --features mock --test backend_select

# Bridges (issue 24): corio::hyper's graceful shutdown and response accounting (tests/hyper_server.rs), the
# tokio-compat wrapper (tests/tokio_compat.rs). One feature set for the three, so their dependencies build once.
graceful_never_drains     | cargo test -p corio --features hyper,hyper-util,tls,tokio-compat --test hyper_server -- graceful_shutdown_under_load
response_end_uncounted    | cargo test -p corio --features hyper,hyper-util,tls,tokio-compat --test hyper_server -- graceful_shutdown_under_load
compat_poll_outside_context | cargo test -p corio --features hyper,hyper-util,tls,tokio-compat --test tokio_compat -- tokio_sleep_runs

# The toolbox (issue 23): the loom models of names, processes and io_uring operations.
lookup_slot_freed_on_cancel    | loom cargo test -p corio-verify --release --test loom_lookup -- a_cancelled_lookup
gate_cancel_swallows_call      | loom cargo test -p corio-verify --release --test loom_lookup -- a_called_waiter
hub_register_after_look        | loom cargo test -p corio-core --release --lib -- process::hub::loom_model
op_abandon_frees_buffer        | loom cargo test -p corio-verify --release --test loom_uring_op -- a_cancelled_read
op_publish_before_result       | loom cargo test -p corio-verify --release --test loom_uring_op -- a_completed_read
EOF

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
PATCHES="$ROOT/verify/mutants"
WORK="${MUTANTS_DIR:-$ROOT/target/mutants}"
TREE="$WORK/tree"
LOGS="$ROOT/target/mutants-logs"
mkdir -p "$LOGS" "$TREE"
TIMEOUT="${MUTANTS_TIMEOUT:-900}"
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$WORK/build}"
LOOM_TARGET_DIR="${MUTANTS_LOOM_TARGET_DIR:-$WORK/loom}"
export CARGO_INCREMENTAL=1 CARGO_PROFILE_RELEASE_INCREMENTAL=true
# A mutant's failing cases are not regressions of the real code: keep them out
# of verify/proptest-regressions/.
export PROPTEST_DISABLE_FAILURE_PERSISTENCE=1

# `loom CMD...`: runs CMD as a loom model build.
loom() {
    RUSTFLAGS="--cfg corio_loom" CARGO_TARGET_DIR="$LOOM_TARGET_DIR" \
        LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" LOOM_MAX_BRANCHES="${LOOM_MAX_BRANCHES:-10000}" "$@"
}

# The build-only form of a check command.
build_command() {
    local cmd="${1%% -- *}"
    printf '%s' "${cmd/cargo test/cargo test --no-run}"
}

# run LOG COMMAND: runs COMMAND in the scratch copy (with the `loom` helper available) under the timeout;
# returns its status (124 on timeout).
run() {
    local log="$1" cmd="$2"
    (cd "$TREE" && timeout -k 10 "$TIMEOUT" bash -c "$(declare -f loom); LOOM_TARGET_DIR='$LOOM_TARGET_DIR'; $cmd") >>"$log" 2>&1
}

names=()
commands=()
while IFS= read -r line; do
    [[ -z "${line//[[:space:]]/}" || "$line" =~ ^[[:space:]]*# ]] && continue
    name="${line%%|*}"
    name="$(echo "$name" | xargs)"
    cmd="$(echo "${line#*|}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')"
    if [[ -z "$name" || "$line" != *"|"* || -z "$cmd" ]]; then
        echo "mutants.sh: bad table line: $line" >&2
        exit 2
    fi
    for existing in "${names[@]}"; do
        [[ "$existing" == "$name" ]] && { echo "mutants.sh: duplicate mutant $name" >&2; exit 2; }
    done
    names+=("$name")
    commands+=("$cmd")
done <<<"$MUTANTS"

if [[ "${1:-}" == "--list" ]]; then
    for i in "${!names[@]}"; do printf '%-28s %s\n' "${names[$i]}" "${commands[$i]}"; done
    exit 0
fi

# The table and the patches name the same mutants.
status=0
for name in "${names[@]}"; do
    [[ -f "$PATCHES/$name.patch" ]] || { echo "mutants.sh: $name has no patch $PATCHES/$name.patch" >&2; status=2; }
done
for patch in "$PATCHES"/*.patch; do
    name="$(basename "$patch" .patch)"
    [[ " ${names[*]} " == *" $name "* ]] || { echo "mutants.sh: $patch is not in the table" >&2; status=2; }
done
[[ $status -eq 0 ]] || exit $status

# The selection.
selected=()
if [[ $# -eq 0 ]]; then
    selected=("${!names[@]}")
else
    for want in "$@"; do
        found=""
        for i in "${!names[@]}"; do [[ "${names[$i]}" == "$want" ]] && found="$i"; done
        if [[ -z "$found" ]]; then
            echo "mutants.sh: unknown mutant '$want' (see --list)" >&2
            exit 2
        fi
        selected+=("$found")
    done
fi

start=$SECONDS

# 0. The scratch copy: the working tree's files (tracked, and untracked unless ignored), copied where their
# content differs (a copy gets a new modification time, so cargo rebuilds what changed and nothing else).
if [[ -f "$WORK/applied" ]]; then
    # An earlier run was interrupted with a patch in: the copy below repairs the files it touched.
    rm -f "$WORK/applied"
fi
(cd "$ROOT" && git ls-files -co --exclude-standard) | sort >"$WORK/files.new"
while IFS= read -r file; do
    [[ -f "$ROOT/$file" ]] || continue
    if ! cmp -s "$ROOT/$file" "$TREE/$file"; then
        mkdir -p "$TREE/$(dirname "$file")"
        cp "$ROOT/$file" "$TREE/$file"
    fi
done <"$WORK/files.new"
if [[ -f "$WORK/files" ]]; then
    comm -23 "$WORK/files" "$WORK/files.new" | while IFS= read -r gone; do rm -f "$TREE/$gone"; done
fi
mv "$WORK/files.new" "$WORK/files"

# apply NAME [-R]: applies (or with -R takes out) a mutant's patch in the scratch copy.
apply() {
    patch -s -p1 -d "$TREE" --no-backup-if-mismatch -r - "${@:2}" <"$PATCHES/$1.patch"
}

declare -A baseline # command -> ok | fails | build-failed | timeout

# 1. The un-mutated copy must pass every distinct check.
if [[ "${MUTANTS_SKIP_BASELINE:-0}" != 1 ]]; then
    for i in "${selected[@]}"; do
        cmd="${commands[$i]}"
        [[ -n "${baseline[$cmd]:-}" ]] && continue
        log="$LOGS/baseline-$(echo "$cmd" | tr -c 'a-zA-Z0-9_' '_' | cut -c1-80).log"
        : >"$log"
        t=$SECONDS
        if ! run "$log" "$(build_command "$cmd")"; then
            baseline[$cmd]=build-failed
        else
            run "$log" "$cmd"
            case $? in
                0) baseline[$cmd]=ok ;;
                124) baseline[$cmd]=timeout ;;
                *) baseline[$cmd]=fails ;;
            esac
        fi
        printf 'baseline %-13s %4ss  %s\n' "${baseline[$cmd]}" "$((SECONDS - t))" "$cmd"
    done
fi

# 2. Each mutant must make its check fail.
caught=0
for i in "${selected[@]}"; do
    name="${names[$i]}" cmd="${commands[$i]}"
    log="$LOGS/$name.log"
    : >"$log"
    t=$SECONDS
    base="${baseline[$cmd]:-ok}"
    if [[ "$base" != ok ]]; then
        result="INVALID (the check does not pass without the mutant: $base)"
    elif ! apply "$name" --dry-run >>"$log" 2>&1; then
        result="STALE (the patch no longer applies: rewrite it against today's code)"
    else
        apply "$name"
        echo "$name" >"$WORK/applied"
        if ! run "$log" "$(build_command "$cmd")"; then
            result="BUILD-FAILED"
        else
            run "$log" "$cmd"
            case $? in
                0) result="SURVIVED" ;;
                124) result="TIMEOUT" ;;
                *) result="caught"; caught=$((caught + 1)) ;;
            esac
        fi
        apply "$name" -R
        rm -f "$WORK/applied"
    fi
    printf '%-28s %-9s %4ss  %s\n' "$name" "$result" "$((SECONDS - t))" "$cmd"
done

echo "$caught/${#selected[@]} mutants caught ($((SECONDS - start))s; logs in ${LOGS#"$ROOT"/})"
[[ "$caught" -eq "${#selected[@]}" ]]

#!/usr/bin/env python3
"""The loop-level workloads W2, W4, W8 and W13 on Python's asyncio (and uvloop where it is installed).

corio models asyncio; this puts the system it models in docs/benchmarks.md beside it. Same operations as
corio-bench's versions: ns per operation, median of several runs (min-max).

    python3 benches/asyncio_bench.py [--quick] [--reps N]
"""

import argparse
import asyncio
import statistics
import time


async def w2_spawn_join(ops):
    """W2: spawn + join, 10k tasks created inside the loop, per task."""
    batch = min(10_000, ops)

    async def leaf(i):
        return i

    start = time.perf_counter_ns()
    for _ in range(ops // batch):
        tasks = [asyncio.create_task(leaf(i)) for i in range(batch)]
        for t in tasks:
            await t
    return time.perf_counter_ns() - start


async def w4_lone_yield(ops):
    """W4: one task alone yielding (asyncio.sleep(0)), per yield."""
    start = time.perf_counter_ns()
    for _ in range(ops):
        await asyncio.sleep(0)
    return time.perf_counter_ns() - start


async def w8_timer_register_cancel(ops):
    """W8: a timer registered and cancelled (call_later + cancel: what asyncio.sleep polled once and dropped does)."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter_ns()
    for i in range(1, ops + 1):
        loop.call_later(3600, lambda: None).cancel()
        if i % 1024 == 0:
            await asyncio.sleep(0)
    return time.perf_counter_ns() - start


def w13_call_soon_chain(new_loop, ops):
    """W13: a callback that schedules itself with call_soon, ops times."""
    loop = new_loop()
    left = [ops]

    def step():
        if left[0] == 0:
            loop.stop()
        else:
            left[0] -= 1
            loop.call_soon(step)

    start = time.perf_counter_ns()
    loop.call_soon(step)
    loop.run_forever()
    elapsed = time.perf_counter_ns() - start
    loop.close()
    return elapsed


def run(new_loop, workload, ops):
    if workload is w13_call_soon_chain:
        return w13_call_soon_chain(new_loop, ops)
    loop = new_loop()
    try:
        return loop.run_until_complete(workload(ops))
    finally:
        loop.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args()
    reps = args.reps or (3 if args.quick else 7)
    scale = 10 if args.quick else 1

    loops = [("asyncio", asyncio.new_event_loop)]
    try:
        import uvloop

        loops.append(("uvloop", uvloop.new_event_loop))
    except ImportError:
        print("(uvloop is not installed: asyncio only)")

    workloads = [
        ("W2", "spawn + join, 10k tasks", w2_spawn_join, 100_000 // scale),
        ("W4", "one task alone yielding", w4_lone_yield, 200_000 // scale),
        ("W8", "timer register + cancel", w8_timer_register_cancel, 200_000 // scale),
        ("W13", "call_soon chained", w13_call_soon_chain, 1_000_000 // scale),
    ]
    header = "| id | workload |" + "".join(f" {name} ns/op (min–max) |" for name, _ in loops)
    print(header)
    print("|---|---|" + "---|" * len(loops))
    for wid, description, workload, ops in workloads:
        samples = {name: [] for name, _ in loops}
        for name, new_loop in loops:  # warm-up
            run(new_loop, workload, max(ops // 10, 1))
        for _ in range(reps):
            for name, new_loop in loops:  # interleaved, as corio-bench does
                samples[name].append(run(new_loop, workload, ops) / ops)
        cells = "".join(
            f" {statistics.median(s):.0f} ({min(s):.0f}–{max(s):.0f}) |" for s in samples.values()
        )
        print(f"| {wid} | {description} |{cells}")
    print(f"\n{reps} repetitions per loop, interleaved; Python {'.'.join(map(str, __import__('sys').version_info[:3]))}.")


if __name__ == "__main__":
    main()

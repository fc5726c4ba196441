"""Benchmark: an app process's memory over many transitions.

The process fires N transitions through `services.transitions.fire`, as a
request would, alternating `suspend` and `resume` on a few running projects,
and reads its resident set size from /proc after a warm-up and then at each
tenth of the run. A process that keeps what each firing loaded (identity maps,
cached statements, listeners) grows with N; one that does not stays flat. The
follow-ups run on the app's background thread as they do when served, so
their memory is counted too.
"""
from __future__ import annotations

import gc
import itertools
import os
import time
from typing import Any, Iterator

from . import outbox
from .bench import SUSPEND_REASON, Progress, _prepare, scratch_app
from .services.transitions import fire

WARM_UP = 1000  # firings before the first reading: caches and pools filled once


def rss_bytes() -> int:
    """This process's resident set size now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(database_url: str | None, n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    if n < 10:
        raise ValueError("--memory needs at least 10 transitions")
    with scratch_app(database_url) as app:
        officer, app_ids = _prepare(20, progress)
        drainer = outbox.background(app)
        drainer.wait_idle(timeout=600)
        states = dict.fromkeys(app_ids, "in_progress")
        turn = itertools.cycle(app_ids)

        def change() -> None:
            app_id = next(turn)
            suspend = states[app_id] == "in_progress"
            row = fire(officer, "application", app_id, "suspend" if suspend else "resume",
                       comment=SUSPEND_REASON if suspend else None)
            states[app_id] = row.state

        warm_up = min(WARM_UP, n)
        with progress("warming up", warm_up) as bar:
            for _ in range(warm_up):
                change()
                bar.update(1)
        drainer.wait_idle(timeout=600)
        gc.collect()
        readings = [rss_bytes()]
        step = n // 10
        start = time.perf_counter()
        with progress("transitions", n) as bar:
            for i in range(1, n + 1):
                change()
                if i % step == 0:
                    readings.append(rss_bytes())
                bar.update(1)
        seconds = time.perf_counter() - start
        drainer.wait_idle(timeout=600)
        gc.collect()
        readings.append(rss_bytes())
    first, last, peak = readings[0], readings[-1], max(readings)
    yield "memory_transitions", n
    yield "memory_transitions_per_s", round(n / seconds, 1)
    yield "memory_rss_start_mb", round(first / 2**20, 1)
    yield "memory_rss_end_mb", round(last / 2**20, 1)
    yield "memory_rss_peak_mb", round(peak / 2**20, 1)
    yield "memory_growth_pct", round(100 * (last - first) / first, 2)
    yield "memory_readings_mb", " ".join(f"{r / 2**20:.1f}" for r in readings)


__all__ = ["run", "rss_bytes"]

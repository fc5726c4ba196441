"""Benchmark: transitions over HTTP under concurrent clients, against gunicorn, beside the in-process engine.

One run, one fresh database (a SQLite file, or a schema of its own on the PostgreSQL server of
`--database-url`). Each client owns one application driven to `in_progress` through the engine and
alternates `suspend` (with a reason) and `resume` as an officer, over keep-alive HTTP to a gunicorn
with several workers; the same transitions are first timed in this process through
`services.transitions.fire`, single-threaded, as the peer figure, its follow-ups held back. gunicorn
hands its follow-ups to a throwaway redis-server, as a production install does, and no worker takes
them during the run (`http_follow_ups_queued` counts them). Answers other than 200 are
counted as errors (the clients never contend, so not even a 409 is expected). The chain is verified
at the end.
"""
from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Iterator

from flask import current_app

from . import outbox
from .bench import PASSWORD, SUSPEND_REASON, Progress, _percentile, _prepare, _verify, scratch_app
from .bench_documents import throwaway_redis
from .services import accounts
from .services.transitions import fire

WORKERS = 4
WARM_UP = 2  # untimed transitions per client before the clock starts (an even number: state unchanged)
THREADS = 8  # per gunicorn worker: the clients' requests mostly wait on the database


def run(database_url: str | None, n: int, clients: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    if n < clients:
        raise ValueError("need at least one transition per client")
    with scratch_app(database_url) as app:
        officer, app_ids = _prepare(clients, progress)
        drainer = outbox.background(app)
        drainer.wait_idle(timeout=600)
        yield "http_clients", clients
        yield "http_gunicorn_workers", WORKERS
        with drainer.paused():
            yield "engine_in_process_per_s", _in_process(officer, app_ids, min(n, 1000), progress)
        token = accounts.issue_token(officer.email, PASSWORD)
        # As in production, and as the in-process figure beside it: gunicorn hands each transition's
        # follow-ups to Redis and ends the request; no worker takes them while the clients run, so
        # the notices do not share the cores with the transitions they follow.
        with throwaway_redis(Path(app.config["DATA_DIR"]) / "redis") as redis_base, \
                _gunicorn(app.config["DATABASE_URL"], app.config["DATA_DIR"], f"{redis_base}/1") as server:
            before = _CpuUse.now(server.process.pid)
            latencies, codes, seconds = _clients(server.port, token, app_ids, n, progress)
            used = _CpuUse.now(server.process.pid) - before
            queued = _queued(f"{redis_base}/1")
        ok = sum(1 for c in codes if c == 200)
        yield "http_per_s", round(ok / seconds, 1)
        yield "http_p50_ms", round(_percentile(latencies, 50) * 1000, 2)
        yield "http_p99_ms", round(_percentile(latencies, 99) * 1000, 2)
        yield "http_errors", (n // clients) * clients - ok  # refused, or never answered
        yield "http_follow_ups_queued", queued
        if ok:
            yield from used.per_request(ok)
        yield from _verify(progress)


def _in_process(officer, app_ids: list[int], n: int, progress: Progress) -> float:
    states = {app_id: "in_progress" for app_id in app_ids}
    turn = itertools.cycle(app_ids)
    with progress("in-process engine", n) as bar:
        start = time.perf_counter()
        for _ in range(n):
            app_id = next(turn)
            suspend = states[app_id] == "in_progress"
            states[app_id] = fire(officer, "application", app_id, "suspend" if suspend else "resume",
                                  comment=SUSPEND_REASON if suspend else None).state
            bar.update(1)
        return round(n / (time.perf_counter() - start), 1)


class _gunicorn:
    """gunicorn serving the benchmark's database, on a free port, for the length of a `with`."""

    def __init__(self, database_url: str, data_dir: str, redis_url: str):
        self.port = _free_port()
        self.env = {**os.environ, "FUNDFLOW_DATABASE_URL": database_url, "FUNDFLOW_DATA_DIR": data_dir,
                    "FUNDFLOW_SECRET_KEY": current_app.config["SECRET_KEY"], "FUNDFLOW_REDIS_URL": redis_url}
        self.log = Path(data_dir) / "gunicorn.log"

    def __enter__(self) -> "_gunicorn":
        binary = Path(sys.executable).with_name("gunicorn")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(binary), "-w", str(WORKERS), "--threads", str(THREADS), "-b", f"127.0.0.1:{self.port}",
                 "workflow:create_app()"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            if _status(self.port, "GET", "/readyz") == 200:
                return self
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class _CpuUse:
    """CPU seconds spent, per side of the requests, by the processes of this machine (Linux's /proc).

    Where a request's time goes when every side shares the cores: gunicorn (its master and workers),
    a PostgreSQL server running here (every one of its processes), redis-server, and this process,
    whose threads are the clients. A database elsewhere counts 0 here.
    """

    server: float = 0.0
    database: float = 0.0
    redis: float = 0.0
    clients: float = 0.0

    @classmethod
    def now(cls, server_pid: int) -> "_CpuUse":
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        sides = {"server": 0.0, "database": 0.0, "redis": 0.0}
        for pid, parent, name, seconds in _processes(tick):
            if pid == server_pid or parent == server_pid:
                sides["server"] += seconds
            elif name == "postgres":
                sides["database"] += seconds
            elif name == "redis-server":
                sides["redis"] += seconds
        return cls(**sides, clients=time.process_time())

    def __sub__(self, other: "_CpuUse") -> "_CpuUse":
        return _CpuUse(*(a - b for a, b in zip(astuple(self), astuple(other))))

    def per_request(self, requests: int) -> Iterator[tuple[str, Any]]:
        """Milliseconds of CPU per answered request on each side, and the rate the cores would allow."""
        total = 0.0
        for side, seconds in zip(("server", "database", "redis", "clients"), astuple(self)):
            yield f"http_{side}_cpu_ms", round(1000 * seconds / requests, 2)
            total += seconds
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        yield "http_cpu_ms", round(1000 * total / requests, 2)
        if total > 0:
            # Every core busy with nothing but this work: the most this machine could answer.
            yield "http_cpu_bound_per_s", round(cores * requests / total, 1)


def _processes(tick: int) -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, name, CPU seconds) of every process /proc shows; nothing without /proc."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        yield int(entry.name), int(rest[1]), name, (int(rest[11]) + int(rest[12])) / tick


def _queued(redis_url: str) -> int:
    """How many follow-up jobs wait in RQ's queues: one per transition's staged job, none lost."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(redis_url)
    try:
        return sum(len(queue) for queue in Queue.all(connection=connection))
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(port: int, method: str, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()


def _clients(port: int, token: str, app_ids: list[int], n: int,
             progress: Progress) -> tuple[list[float], list[int], float]:
    per_client = n // len(app_ids)
    latencies: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(app_ids) + 1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(app_id: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine_lat, mine_codes, suspended = [], [], False

        def transition() -> tuple[float, int]:
            nonlocal suspended
            trigger = "resume" if suspended else "suspend"
            body = json.dumps({} if suspended else {"comment": SUSPEND_REASON})
            t0 = time.perf_counter()
            connection.request("POST", f"/api/v1/applications/{app_id}/transitions/{trigger}", body=body,
                               headers=headers)
            response = connection.getresponse()
            response.read()
            suspended = suspended != (response.status == 200)
            return time.perf_counter() - t0, response.status

        try:
            # Untimed, as the in-process figure's warm-up: each worker thread's first requests open
            # its connections and compile its statements. A suspend and a resume leave the state as it was.
            try:
                for _ in range(WARM_UP):
                    transition()
            finally:
                start.wait()  # a client that failed here still lets the others start, and its answers count as errors
            for _ in range(per_client):
                seconds, status = transition()
                mine_lat.append(seconds)
                mine_codes.append(status)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine_lat)
                codes.extend(mine_codes)
                bar.update(len(mine_codes))

    with progress("HTTP clients", per_client * len(app_ids)) as bar:
        threads = [threading.Thread(target=client, args=(app_id,)) for app_id in app_ids]
        for t in threads:
            t.start()
        start.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
    return latencies, codes, seconds

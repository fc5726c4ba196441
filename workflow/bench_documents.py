"""Benchmark of decision notices: WeasyPrint alone, the job in one process, the job through RQ workers.

`fundflow bench --documents N` runs it on a scratch database (a SQLite file in
a temp dir, or a schema of its own on the PostgreSQL server of
--database-url), with its own throwaway redis-server on a free port and its
own `python worker.py` processes; all of them, and the temp dir, are gone
when it ends, whether it finishes, fails or is interrupted (Ctrl-C, SIGTERM).

Applications are driven to `decision_pending` through the engine beforehand
(workflow/bench.py's `_prepare`). Then, in this order:

1. in-process (`documents_inprocess_*`): `min(N, SAMPLE)` approvals one
   after another in this process, without Redis, as a served app runs
   without FUNDFLOW_REDIS_URL: each commits, and the app's background thread
   runs its `decision_notice` job (jobs.issue_document: number, render,
   write, record the SHA-256 in the audit chain) and its `notify` job; the
   time runs until the last of them is done.
2. the floor (`documents_floor_*`): `documents.render` alone on the frozen
   contexts of those same documents, in this process: the same HTML through
   WeasyPrint, no database, no queue. Rendering is deterministic, so every
   PDF must hash to what the job recorded (`documents_render_deterministic`).
3. through RQ (`documents_rq_1w_*`, then `documents_rq_2w_*`): 1, then 2
   workers started and registered with Redis first; then N approvals at once
   (APPROVERS threads, each approval enqueued after its commit as the app
   does with FUNDFLOW_REDIS_URL); timed from the first approval to the
   `issued_at` of the last of the N notices.

Ratios are `floor / figure`, as `engine_floor_ratio` is: how many times
slower than WeasyPrint alone one process (or one worker) issues notices.
At the end every decision notice of the run must be numbered exactly 1..count
within its year, with no gap or duplicate, one per approval, and every file's
SHA-256 must match the audit event that issued it (`documents_numbers_ok`);
the audit chain is verified too (`documents_audit_chain_ok`).

`weasyprint_subsetter` names the font subsetter WeasyPrint uses here: it
subsets with HarfBuzz when `libharfbuzz-subset.so.0` could be loaded and
HarfBuzz is at least 4.1.0, and with fontTools (~50 times slower on a CJK
font, DESIGN §7) otherwise (weasyprint/pdf/fonts.py, `Font.subset`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

from flask import Flask
from sqlalchemy import func, select

from . import audit, create_app, db, documents, outbox
from .bench import BENCH_SECRET, Progress, _environ, _percentile, _prepare, scratch_app
from .models import Document, Event, Outbox, utcnow
from .permissions import Actor
from .services.transitions import fire

KIND = "decision_notice"
SAMPLE = 100  # documents for the in-process figure and the floor (WeasyPrint at ~0.15 s each)
WORKER_COUNTS = (1, 2)
APPROVERS = 8  # threads approving at once in the RQ runs
APPROVE = {"approved_amount": 2_000_000}  # within the bench applications' 3,000,000 central budget
STALL = 180.0  # seconds without one more notice issued before an RQ run is given up
POLL = 0.1  # seconds between looks at the database while workers run
RELAY_SETTLE = 3.0  # seconds after the workers registered: past the relay's first round (see _through_rq)
# The worker as `fundflow worker` runs it, from a checkout or an install alike.
WORKER = [sys.executable, "-m", "workflow.worker"]
FONTTOOLS_WARNING = "Using fontTools instead of HarfBuzz-Subset"


def run(database_url: str | None, n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    """Measure decision notices with N approvals per RQ run; yield (name, value) per figure."""
    if n < 1:
        raise ValueError("the number of documents must be at least 1")
    sample = min(n, SAMPLE)
    with ExitStack() as stack:
        stack.enter_context(_sigterm_interrupts())
        app = stack.enter_context(scratch_app(database_url))
        scratch = Path(app.config["DATA_DIR"])
        yield "documents_database", db.engine().dialect.name
        yield "documents_n", n

        with _weasyprint_warnings() as warned:
            documents.warm_up()  # fonts loaded once, before anything is timed
        yield "weasyprint_version", _weasyprint_version()
        yield "weasyprint_subsetter", "fonttools" if _fonttools_used(warned) else subsetter()

        officer, app_ids = _prepare(sample + n * len(WORKER_COUNTS), progress, "decision_pending")
        in_process, rest = app_ids[:sample], app_ids[sample:]

        seconds = _in_process(officer, in_process, progress)
        outbox.stop_background(app)  # from here on, RQ's workers alone run the jobs
        floor = _floor(in_process, progress)
        floor_per_s = len(floor["latencies"]) / sum(floor["latencies"])
        yield "documents_floor_per_s", round(floor_per_s, 2)
        yield "documents_floor_p50_ms", round(_percentile(floor["latencies"], 50) * 1000, 1)
        yield "documents_render_deterministic", _bool(floor["deterministic"])
        yield "documents_inprocess_per_s", round(len(in_process) / seconds, 2)
        yield "documents_inprocess_floor_ratio", round(floor_per_s * seconds / len(in_process), 3)

        redis_base = stack.enter_context(throwaway_redis(scratch / "redis"))
        for index, workers in enumerate(WORKER_COUNTS):
            batch = rest[index * n:(index + 1) * n]
            # A Redis database of its own per run: no queue, worker or scheduler key carries over.
            yield from _through_rq(app, officer, batch, workers, f"{redis_base}/{index + 1}", floor_per_s,
                                   progress)
        yield from _check(app_ids, scratch, progress)


def subsetter() -> str:
    """The font subsetter WeasyPrint picks in this process, by the test weasyprint/pdf/fonts.py makes."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return "harfbuzz" if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0) else "fonttools"


def _weasyprint_version() -> str:
    import weasyprint

    return weasyprint.__version__


def _in_process(officer: Actor, app_ids: list[int], progress: Progress) -> float:
    """Approve one after another with the jobs run in this process; return the seconds it took."""
    drainer = outbox.background()
    drainer.wait_idle(timeout=600)  # the set-up's own follow-ups, before the clock runs
    with progress("in-process: approve, then issue", len(app_ids)) as bar:
        start = time.perf_counter()
        for app_id in app_ids:
            fire(officer, "application", app_id, "approve", payload=dict(APPROVE))
            bar.update(1)
        drainer.wait_idle(timeout=STALL * len(app_ids))
        seconds = time.perf_counter() - start
    s = db.session()
    issued = s.scalar(select(func.count(Document.id)).where(
        Document.kind == KIND, Document.application_id.in_(app_ids), Document.sha256.is_not(None)))
    s.rollback()
    if issued != len(app_ids):
        raise RuntimeError(f"in-process jobs issued {issued} of {len(app_ids)} notices; see the log above")
    return seconds


def _floor(app_ids: list[int], progress: Progress) -> dict[str, Any]:
    """WeasyPrint alone on the frozen contexts of the notices just issued."""
    s = db.session()
    frozen = [(d.context, d.sha256) for d in s.scalars(
        select(Document).where(Document.kind == KIND, Document.application_id.in_(app_ids)).order_by(Document.id))]
    s.rollback()
    latencies, deterministic = [], True
    with progress("floor: WeasyPrint alone", len(frozen)) as bar:
        for context, sha256 in frozen:
            start = time.perf_counter()
            pdf = documents.render(context)
            latencies.append(time.perf_counter() - start)
            deterministic &= hashlib.sha256(pdf).hexdigest() == sha256
            bar.update(1)
    return {"latencies": latencies, "deterministic": deterministic}


def _through_rq(app: Flask, officer: Actor, app_ids: list[int], workers: int, redis_url: str,
                floor_per_s: float, progress: Progress) -> Iterator[tuple[str, Any]]:
    name = f"documents_rq_{workers}w"
    scratch = Path(app.config["DATA_DIR"])
    with ExitStack() as stack:
        with _environ(FUNDFLOW_DATA_DIR=str(scratch), FUNDFLOW_SECRET_KEY=BENCH_SECRET):
            # The same database and files, handing jobs to Redis as a deployment with FUNDFLOW_REDIS_URL does.
            queued = create_app({**{k: app.config[k] for k in ("DATABASE_URL", "DATA_DIR", "PASSWORD_HASH_METHOD",
                                                                "SQLITE_SYNCHRONOUS")},
                                 "SMTP_URL": None, "REDIS_URL": redis_url})
        stack.callback(queued.extensions["fundflow.engine"].dispose)
        pool = stack.enter_context(_Workers(app, redis_url, scratch / f"worker-logs-{workers}"))
        pool.start(workers)
        pool.wait_registered(workers)
        # the worker's relay thread makes its first round RELAY_EVERY (2 s) after start and imports
        # workflow.scan then; a work horse forked meanwhile inherits half-imported modules whose
        # import locks nobody will release, and hangs on its first import of workflow.jobs until
        # RQ's job timeout (180 s). Let that first round pass before any job arrives.
        time.sleep(RELAY_SETTLE)

        issued_before, outbox_before = _issued_count(), _outbox_head()
        approver = ThreadPoolExecutor(APPROVERS, thread_name_prefix="bench-approve")
        stack.callback(approver.shutdown, wait=True, cancel_futures=True)  # Ctrl-C: no more approvals

        def approve(app_id: int) -> None:
            with queued.app_context():
                fire(officer, "application", app_id, "approve", payload=dict(APPROVE))

        with progress(f"through RQ, {workers} worker{'s' if workers > 1 else ''}", len(app_ids)) as bar:
            started_at = utcnow()
            start = time.perf_counter()
            approvals: list[Future] = [approver.submit(approve, app_id) for app_id in app_ids]
            approved_in, done, last_change = None, 0, time.monotonic()
            while done < len(app_ids):
                time.sleep(POLL)
                if approved_in is None and all(f.done() for f in approvals):
                    approved_in = time.perf_counter() - start
                    for f in approvals:
                        f.result()  # an approval that failed fails the run
                now_done = _issued_count() - issued_before
                if now_done > done:
                    bar.update(now_done - done)
                    done, last_change = now_done, time.monotonic()
                elif time.monotonic() - last_change > STALL:
                    raise RuntimeError(f"{done} of {len(app_ids)} notices issued and none for {STALL:.0f} s; "
                                       f"the workers said:\n{pool.output()}")
                pool.check_alive()
        if approved_in is None:
            for f in approvals:
                f.result()
            approved_in = time.perf_counter() - start

        s = db.session()
        last_issued = s.scalar(select(func.max(Document.issued_at)).where(Document.application_id.in_(app_ids),
                                                                          Document.kind == KIND))
        s.rollback()
        seconds = (last_issued - started_at).total_seconds()
        _drain(outbox_before, pool)  # the notify jobs too, so nothing of this run spills into the next
        runs = _job_runs(outbox_before)
        fonttools = pool.used_fonttools()
    per_s = len(app_ids) / seconds
    yield f"{name}_total_s", round(seconds, 2)
    yield f"{name}_approvals_s", round(approved_in, 2)
    yield f"{name}_per_s", round(per_s, 2)
    yield f"{name}_per_worker_per_s", round(per_s / workers, 2)
    yield f"{name}_floor_ratio", round(floor_per_s / (per_s / workers), 3)
    yield f"{name}_job_reruns", runs - len(app_ids)  # notice jobs started more than once (retries, double hand-over)
    yield f"{name}_subsetter", "fonttools" if fonttools else subsetter()


def _issued_count() -> int:
    s = db.session()
    try:
        return s.scalar(select(func.count(Document.id)).where(Document.kind == KIND, Document.sha256.is_not(None)))
    finally:
        s.rollback()


def _outbox_head() -> int:
    s = db.session()
    try:
        return s.scalar(select(func.coalesce(func.max(Outbox.id), 0)))
    finally:
        s.rollback()


def _drain(after: int, pool: "_Workers") -> None:
    """Wait for every job staged since outbox id `after` to finish (or fail for good)."""
    deadline = time.monotonic() + STALL
    while True:
        s = db.session()
        pending = s.scalar(select(func.count(Outbox.id)).where(Outbox.id > after, Outbox.done_at.is_(None),
                                                               Outbox.failed_at.is_(None)))
        s.rollback()
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending} jobs still pending; the workers said:\n{pool.output()}")
        pool.check_alive()
        time.sleep(POLL)


def _job_runs(after: int) -> int:
    s = db.session()
    try:
        return s.scalar(select(func.coalesce(func.sum(Outbox.attempts), 0)).where(Outbox.id > after,
                                                                                   Outbox.job == KIND))
    finally:
        s.rollback()


def _check(app_ids: list[int], scratch: Path, progress: Progress) -> Iterator[tuple[str, Any]]:
    """Every notice of the run: numbered 1..count per year, one per approval, its file hashed into the chain."""
    s = db.session()
    problems: list[str] = []
    try:
        docs = list(s.scalars(select(Document).where(Document.kind == KIND).order_by(Document.year, Document.seq)))
        issues = {e.id: e for e in s.scalars(select(Event).where(Event.subject == "document"))}
        seqs: dict[int, list[int]] = defaultdict(list)
        folder = scratch / "documents"
        with progress("checking numbers and files", len(docs)) as bar:
            for doc in docs:
                seqs[doc.year].append(doc.seq)
                if doc.number != documents.format_number(KIND, doc.year, doc.seq):
                    problems.append(f"document {doc.id} is numbered {doc.number}")
                event = issues.get(doc.issued_event_id)
                path = folder / (doc.stored_name or "")
                if doc.sha256 is None or event is None or not doc.stored_name or not path.is_file():
                    problems.append(f"{doc.number} was not issued (no hash, issue event or file)")
                else:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    if not (digest == doc.sha256 == event.data.get("sha256")) or event.subject_id != doc.id:
                        problems.append(f"{doc.number}: file {digest[:12]}…, row {doc.sha256[:12]}…, "
                                        f"audit event {event.id} {str(event.data.get('sha256'))[:12]}…")
                bar.update(1)
        for year, got in seqs.items():
            if got != list(range(1, len(got) + 1)):
                problems.append(f"{year}: numbers are not 1..{len(got)} without gaps or duplicates")
        if sorted(d.application_id for d in docs) != sorted(app_ids):
            problems.append(f"{len(docs)} notices for {len(app_ids)} approvals, not one each")
        if len(issues) != len(docs):
            problems.append(f"{len(issues)} document issue events for {len(docs)} notices")
        with progress("verifying the audit chain", 1) as bar:
            _count, broken = audit.verify(s)
            bar.update(1)
    finally:
        s.rollback()
    for problem in problems[:20]:
        print(f"documents benchmark: {problem}", file=sys.stderr)
    if broken:
        print(f"documents benchmark: the audit chain is broken: {broken}", file=sys.stderr)
    yield "documents_issued", len(docs)
    yield "documents_numbers_ok", _bool(not problems)
    yield "documents_audit_chain_ok", _bool(broken is None)


def _bool(value: bool) -> str:
    return "true" if value else "false"


class _Workers:
    """`python worker.py` processes on the bench's database and Redis, each in a process group of its own."""

    def __init__(self, app: Flask, redis_url: str, logs: Path):
        env = {k: v for k, v in os.environ.items()
               if k not in ("FUNDFLOW_SMTP_URL", "FUNDFLOW_AUDIT_KEY")}  # no mail, no signing with a real key
        env.update({"FUNDFLOW_DATABASE_URL": app.config["DATABASE_URL"], "FUNDFLOW_DATA_DIR": app.config["DATA_DIR"],
                    "FUNDFLOW_REDIS_URL": redis_url, "FUNDFLOW_SECRET_KEY": BENCH_SECRET})
        self.env, self.redis_url, self.logs = env, redis_url, logs
        self.processes: list[subprocess.Popen] = []
        logs.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self, count: int) -> None:
        for _ in range(count):
            with open(self.logs / f"worker-{len(self.processes)}.log", "wb") as out:
                self.processes.append(subprocess.Popen(
                    WORKER, cwd=self.logs, env=self.env, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    def wait_registered(self, count: int, timeout: float = 120) -> None:
        """Until `count` workers are listening on Redis (WeasyPrint and fonts loaded: worker.py warms up first)."""
        from redis import Redis
        from rq import Worker

        connection = Redis.from_url(self.redis_url)
        try:
            deadline = time.monotonic() + timeout
            while Worker.count(connection=connection) < count:
                self.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the workers did not start within {timeout:.0f} s:\n{self.output()}")
                time.sleep(POLL)
        finally:
            connection.close()

    def check_alive(self) -> None:
        dead = [p.pid for p in self.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker process(es) {dead} exited; they said:\n{self.output()}")

    def stop(self) -> None:
        """SIGTERM (RQ's warm shutdown: the job at hand finishes), then SIGKILL whatever is left of each group."""
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            _reap(p, grace=20)
        self.processes = []

    def output(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.logs.glob("*.log")))

    def used_fonttools(self) -> bool:
        return any(FONTTOOLS_WARNING in path.read_text(errors="replace") for path in self.logs.glob("*.log"))


def _reap(process: subprocess.Popen, grace: float) -> None:
    """Wait for a child started with start_new_session, then kill what remains of its process group."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its group's id is its pid; RQ's work horses live there too
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()


@contextmanager
def throwaway_redis(base: Path) -> Iterator[str]:
    """A throwaway redis-server on a free port, keeping nothing on disk; yield its URL without a database."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    base.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):  # a free port may be taken between looking and binding
        port = _free_port()
        with open(base / "redis.log", "ab") as out:
            process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(base)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            if _wait_listening(process, port):
                yield f"redis://127.0.0.1:{port}"
                return
        finally:
            if process.poll() is None:
                process.terminate()
            _reap(process, grace=10)
    raise RuntimeError(f"redis-server did not start: {(base / 'redis.log').read_text(errors='replace')[-2000:]}")


def _wait_listening(process: subprocess.Popen, port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _weasyprint_warnings() -> Iterator[list[str]]:
    """The messages WeasyPrint logs meanwhile (it says so when it falls back to fontTools)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger, handler = logging.getLogger("weasyprint"), Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _fonttools_used(messages: list[str]) -> bool:
    return any(FONTTOOLS_WARNING in m for m in messages)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the servers, workers and temp dir are cleaned up either way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["run", "subsetter"]

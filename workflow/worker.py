"""The RQ worker: `fundflow worker`, or `python worker.py` (needs FUNDFLOW_REDIS_URL).

Builds the app through the factory once and runs the queue's jobs inside its
app context. Beside the worker, a relay thread hands over outbox rows that
were not enqueued at commit (Redis was down) or that Redis lost, and enqueues
the periodic scan once an hour.
"""
from __future__ import annotations

import datetime as dt
import logging
import sys
import threading

from redis import Redis
from rq import SimpleWorker
from rq.job import Job

# Imported before the relay thread starts, so no thread ever holds an import lock
# while a job runs.
from . import create_app, documents, jobs, outbox, scan  # noqa: F401

log = logging.getLogger("fundflow.worker")
RELAY_EVERY = 2.0  # seconds


def relay(app, stop: threading.Event) -> None:
    with app.app_context():
        while not stop.wait(RELAY_EVERY):
            try:
                outbox.dispatch()
                outbox.recover_lost()
                enqueue_hourly_scan()
            except Exception:  # Redis or the database away for a moment: try again next round
                log.warning("relay round failed", exc_info=True)


def enqueue_hourly_scan() -> None:
    hour = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H")
    job_id = f"scan-{hour}"
    connection = outbox.redis()
    if not Job.exists(job_id, connection=connection):  # one scan per hour, however many workers
        outbox.queue().enqueue_call(scan.scan_job, job_id=job_id, result_ttl=7200)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app()
    url = app.config["REDIS_URL"]
    if not url:
        print("set FUNDFLOW_REDIS_URL: without it, jobs run in-process in the app", file=sys.stderr)
        return 2
    stop = threading.Event()
    documents.warm_up()  # WeasyPrint and the CJK fonts loaded once, before the first job
    with app.app_context():
        threading.Thread(target=relay, args=(app, stop), name="outbox-relay", daemon=True).start()
        # Jobs run in this process, not in a forked work horse per job: a fork
        # costs more than a notice takes to render. A job that kills the process
        # is handed over again by another worker's relay.
        worker = SimpleWorker([outbox.QUEUE], connection=Redis.from_url(url))
        try:
            worker.work(with_scheduler=True)
        finally:
            stop.set()
    return 0



if __name__ == "__main__":
    sys.exit(main())

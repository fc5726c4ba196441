"""Page timings: the officer's dashboard, the application page and statistics against the JSON API.

On the demo data set, in one run: each page and the API call(s) that answer
the same question are requested in turn (ABBA rounds), signed in as the demo
officer, and timed in-process from request to response (server time, no
network). The figure to watch is each page's p50 over its API's; the target
is at most 2. Also the heaviest page's script, which must stay under 300 KB.
"""
from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

from flask import Flask
from sqlalchemy import func, select

from . import db, outbox
from .bench import Progress, scratch_app
from .demo import DEMO_EMAIL, DEMO_PASSWORD, load_demo
from .models import Application, Event

ROUNDS_OF = 10  # requests per side per round


def run(database_url: str | None, n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    """Time the pages against their API calls, `n` requests each; yield (name, value) per figure."""
    if n < 1:
        raise ValueError("n must be at least 1")
    with scratch_app(database_url) as app:
        yield "pages_database", db.engine().dialect.name
        with progress("loading the demo data set", 1) as bar:
            load_demo()
            bar.update(1)
        outbox.background(app).wait_idle(timeout=600)  # its documents and notices, before the clock runs
        app_id = _busiest_application()
        # Requests run on a thread of their own, as a server's would: none shares this app context.
        with ThreadPoolExecutor(1) as pool:
            yield from pool.submit(lambda: list(_measure(app, app_id, n, progress))).result()


def _busiest_application() -> int:
    s = db.session()
    return s.scalar(select(Event.application_id).where(Event.application_id.is_not(None))
                    .join(Application, Application.id == Event.application_id)
                    .where(Application.submitted_at.is_not(None))
                    .group_by(Event.application_id).order_by(func.count().desc()).limit(1))


def _measure(app: Flask, app_id: int, n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    page, api = _signed_in(app)
    pairs = {
        "officer_dashboard": ([lambda: page.get("/officer")],
                              [lambda: api.get("/api/v1/applications?page=1")]),
        "application_page": ([lambda: page.get(f"/applications/{app_id}")],
                             [lambda: api.get(f"/api/v1/applications/{app_id}"),
                              lambda: api.get(f"/api/v1/applications/{app_id}/history"),
                              lambda: api.get(f"/api/v1/applications/{app_id}/reviews"),
                              lambda: api.get(f"/api/v1/applications/{app_id}/milestones"),
                              lambda: api.get(f"/api/v1/applications/{app_id}/documents")]),
        "statistics_page": ([lambda: page.get("/statistics")], [lambda: api.get("/api/v1/statistics")]),
    }
    script = 0
    for name, (page_calls, api_calls) in pairs.items():
        html = _check(page_calls[0]())
        script = max(script, _script_bytes(page, html))
        page_times, api_times = [], []
        with progress(f"timing the {name.replace('_', ' ')}", 2 * n) as bar:
            done = 0
            for round_no in range(math.ceil(n / ROUNDS_OF)):
                k = min(ROUNDS_OF, n - done)
                order = ((page_calls, page_times), (api_calls, api_times))
                for calls, times in order if round_no % 2 == 0 else order[::-1]:
                    for _ in range(k):
                        times.append(_time(calls))
                bar.update(2 * k)
                done += k
        page_p50, api_p50 = _pct(page_times, 50), _pct(api_times, 50)
        yield f"{name}_p50_ms", round(page_p50, 2)
        yield f"{name}_p99_ms", round(_pct(page_times, 99), 2)
        yield f"{name}_api_p50_ms", round(api_p50, 2)
        yield f"{name}_api_p99_ms", round(_pct(api_times, 99), 2)
        yield f"{name}_api_ratio", round(page_p50 / api_p50, 2)
    yield "pages_script_kb_max", round(script / 1024, 1)


def _signed_in(app: Flask):
    page = app.test_client()
    html = page.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    email = DEMO_EMAIL["officer"]
    response = page.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"the demo officer could not sign in ({response.status_code})")
    client = app.test_client()
    bearer = client.post("/api/v1/tokens", json={"email": email, "password": DEMO_PASSWORD}).json["token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
    return page, client


def _check(response) -> str:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.path} answered {response.status_code}")
    return response.get_data(as_text=True)


def _time(calls: list[Callable]) -> float:
    start = time.perf_counter()
    for call in calls:
        response = call()
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.path} answered {response.status_code}")
        response.close()
    return (time.perf_counter() - start) * 1000


def _script_bytes(client, html: str) -> int:
    """The bytes of every script the page loads (it has no inline script to count)."""
    total = 0
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
        response = client.get(src)
        total += len(response.get_data())
        response.close()
    return total


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

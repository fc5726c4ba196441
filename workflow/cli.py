"""The `fundflow` command line: thin click commands over plain functions."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from . import create_app, db


def _app() -> Flask:
    ctx = click.get_current_context()
    if ctx.obj is None:
        # A command's follow-ups run before it exits; `serve` hands them to a background thread.
        ctx.obj = create_app({"FOLLOW_UPS": "inline"})
        # Closed in reverse: the app context (and the session it holds) first, then the engine's pool,
        # so no connection is left open to the garbage collector.
        ctx.call_on_close(ctx.obj.extensions["fundflow.engine"].dispose)
        ctx.with_resource(ctx.obj.app_context())
    return ctx.obj


@click.group()
def main() -> None:
    """fundflow: the International S&T Cooperation Special Fund's workflow engine."""


@main.command("init-db")
def init_db() -> None:
    """Create or migrate the schema."""
    from .migrate import upgrade

    app = _app()
    upgrade(db.engine())
    click.echo(f"schema is up to date: {app.config['DATABASE_URL']}")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["applicant", "recommender", "reviewer", "officer",
                                                          "admin"]))
@click.option("--name", default="")
@click.option("--institution", "institution_name", help="Name of the user's institution.")
@click.option("--body", "body_name", help="Name of the user's recommending body.")
def create_user(email, password, role, name, institution_name, body_name) -> None:
    """Add a user."""
    from .errors import WorkflowError
    from .models import Body, Institution
    from .services.accounts import create_user as create

    _app()
    s = db.session()
    institution_id = body_id = None
    if institution_name:
        institution_id = s.scalar(select(Institution.id).where(Institution.name == institution_name))
        if institution_id is None:
            raise click.UsageError(f"no institution named {institution_name!r}")
    if body_name:
        body_id = s.scalar(select(Body.id).where(Body.name == body_name))
        if body_id is None:
            raise click.UsageError(f"no recommending body named {body_name!r}")
    try:
        user = create(email, password, role, name=name, institution_id=institution_id, body_id=body_id)
    except WorkflowError as err:
        details = f" {err.details}" if err.details else ""
        raise click.UsageError(f"{err.message}{details}") from None
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@main.command()
@click.option("--seed", default=2026, show_default=True, help="Random seed, for a repeatable data set.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def demo(seed: int, if_empty: bool) -> None:
    """Load a realistic demo data set through the engine."""
    from .demo import DEMO_ACCOUNTS, load_demo
    from .errors import WorkflowError
    from .migrate import upgrade
    from .models import User

    _app()
    upgrade(db.engine())
    if if_empty and db.session().scalar(select(User.id).limit(1)) is not None:
        click.echo("the database already has users; demo data not loaded. Demo accounts, if loaded before:")
        _print_accounts(DEMO_ACCOUNTS)
        return
    try:
        load_demo(seed=seed, progress=_progress)
    except WorkflowError as err:
        raise click.UsageError(err.message) from None
    click.echo("\nDemo data loaded. Sign in with one account per role:")
    _print_accounts(DEMO_ACCOUNTS)


def _print_accounts(accounts) -> None:
    for role, email, password in accounts:
        click.echo(f"  {role:<12} {email:<36} {password}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web pages and the API."""
    from waitress import serve as waitress_serve

    from .migrate import upgrade

    from . import outbox

    app = _app()
    upgrade(db.engine())
    if not app.config["REDIS_URL"]:
        app.config["FOLLOW_UPS"] = "background"
        outbox.background(app).start()  # and what a crash left undone, first
    click.echo(f"fundflow on http://{host}:{port}/  (API: /api/v1, database: {app.config['DATABASE_URL']})")
    waitress_serve(app, host=host, port=port, threads=threads)


@main.group()
def audit() -> None:
    """Check the audit chain."""


@audit.command("verify")
def audit_verify() -> None:
    """Exit 0 when the chain and its checkpoints are intact, else name the first broken event."""
    from .services.audit_log import chain_length, verify_chain

    _app()
    total = chain_length()
    with click.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
        done = [0]

        def advance(count: int) -> None:
            if count - done[0] >= 1000 or count == total:
                bar.update(count - done[0])
                done[0] = count

        result = verify_chain(progress=advance)
    for problem in result.problems:
        if problem.where in ("event", "head"):
            click.echo(f"BROKEN after {result.events} events: {problem}", err=True)
        else:  # a checkpoint, the checkpoint file or key, or a row that its events do not explain
            click.echo(f"BROKEN: {problem}", err=True)
    if result.broken_event is not None and not any(p.where == "event" for p in result.problems):
        click.echo(f"first event that no longer matches: {result.broken_event} (or one before it)", err=True)
    if not result.intact:
        sys.exit(1)
    click.echo(f"audit chain intact: {result.events} events, {result.checkpoints} checkpoints; "
               "every application, review, milestone and change request is as its events say")
    if result.checkpoints and not result.signatures_checked:
        click.echo("note: FUNDFLOW_AUDIT_KEY is not set, so checkpoint signatures were not checked", err=True)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head and append it to the checkpoint file; print it for publication."""
    import json

    from . import checkpoints
    from .errors import WorkflowError

    app = _app()
    s = app.extensions["fundflow.sessions"]()
    try:
        record = checkpoints.write(s, app.config["AUDIT_KEY"], checkpoints.path_in(app.config["DATA_DIR"]))
    except WorkflowError as err:
        raise click.UsageError(err.message) from None
    finally:
        s.close()
    click.echo(json.dumps(record, sort_keys=True))


@main.command()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Scan as of this day (default: today).")
def scan(as_of) -> None:
    """Run the periodic scan: milestones due and overdue, reviews past due."""
    from .documents import BEIJING
    from .models import utcnow
    from .scan import scan as run_scan

    _app()
    day = as_of.date() if as_of else utcnow().astimezone(BEIJING).date()
    with click.progressbar(length=1, label=f"scanning as of {day}", file=sys.stderr) as bar:
        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        done = run_scan(day, progress=advance)
    for name in sorted(done):
        click.echo(f"{name}: {done[name]}")
    if not done:
        click.echo("nothing to do")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Write the database, attachments, documents and checkpoints to one archive."""
    from .backup import backup as write_backup
    from .errors import WorkflowError

    try:
        manifest = write_backup(_app(), path)
    except WorkflowError as err:
        raise click.UsageError(err.message) from None
    click.echo(f"backed up {len(manifest['members'])} files and the audit chain up to event "
               f"{manifest['audit_head'][0]} to {path}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="Replace the database and files with the backup's?")
def restore(path: Path) -> None:
    """Replace the database and files with a backup's, then verify the audit chain.

    Stop the server and workers first: they hold the database open.
    """
    from .audit import verify
    from .backup import restore as read_backup
    from .errors import WorkflowError

    app = _app()
    try:
        manifest = read_backup(app, path)
    except WorkflowError as err:
        raise click.UsageError(err.message) from None
    s = app.extensions["fundflow.sessions"]()
    count, broken = verify(s)
    s.close()
    if broken:
        click.echo(f"restored, but the audit chain is BROKEN: {broken}", err=True)
        sys.exit(1)
    click.echo(f"restored the backup of {manifest['created_at']}: {count} audit events, chain intact")


@main.command()
@click.option("--database-url", help="Benchmark on this PostgreSQL server, in a schema of its own that is dropped "
              "afterwards (default: a fresh SQLite file in a temp dir).")
@click.option("-n", "count", default=2000, show_default=True, help="Transitions per measurement of the engine.")
@click.option("--engine/--no-engine", "engine", default=True, show_default=True,
              help="Run the engine benchmark (engine_per_s, floor_per_s, engine_floor_ratio, ...).")
@click.option("--documents", "documents", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Also run the decision-notice benchmark with N approvals per RQ run (0: skip it).")
@click.option("--pages", "pages", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Also time the officer dashboard, application page and statistics page against their API "
                   "calls, N requests each, on the demo data set (0: skip it).")
@click.option("--http", "http_clients", type=click.IntRange(min=0), default=0, show_default=True, metavar="C",
              help="Also fire -n transitions over HTTP from C concurrent clients against gunicorn, beside the "
                   "in-process engine (0: skip it).")
@click.option("--audit", "audit_events", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Also build a valid audit chain of N events and time `fundflow audit verify` over it, beside "
                   "hashing the same bytes alone (0: skip it).")
@click.option("--memory", "memory_transitions", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="N", help="Also fire N transitions in this process and report its memory before, during "
                                "and after (0: skip it).")
@click.option("--queries", "query_rounds", type=click.IntRange(min=0), default=0, show_default=True, metavar="R",
              help="Also time the dashboard, suggestion, statistics, report, public-list and verification queries "
                   "R times each on the configured database (FUNDFLOW_DATABASE_URL), read-only (0: skip it).")
@click.option("--review", "review_applications", type=click.IntRange(min=0, max=2000), default=0,
              show_default=True, metavar="N",
              help="Also time expert review at scale: a pool of 5 x N experts, one action assigning 3 suggested "
                   "experts to each of N applications, beside as many bare inserts, and suggestions (0: skip it).")
def bench(database_url: str | None, count: int, engine: bool, documents: int, pages: int,
          http_clients: int, audit_events: int, memory_transitions: int, query_rounds: int,
          review_applications: int) -> None:
    """Run the benchmarks; print one `name: value` line per figure.

    By default only the engine benchmark runs: the engine against a bare-Core
    floor doing the same database work.

    --documents N adds the decision-notice benchmark (documents_* figures):
    WeasyPrint alone on frozen contexts (the floor), the notice job in this
    process, then N approvals at once through RQ with 1 and then 2
    `python worker.py` processes, on a throwaway redis-server; documents per
    second, per worker, total time and the ratio to the floor, then
    documents_numbers_ok (numbers 1..count without gap or duplicate, every
    file's SHA-256 in its audit event) and weasyprint_subsetter (harfbuzz or
    the slow fonttools fallback). It needs redis-server and a source checkout
    (worker.py), and it takes minutes: each of its three runs renders N
    notices at a few per second. Processes and temp files are cleaned up on
    Ctrl-C too. The exit status is 1 if a check fails.

    --http C adds transitions over HTTP (http_* figures): C clients, each
    alternating suspend and resume on its own application, against gunicorn
    with several workers; throughput, p50/p99 and errors, beside the same
    transitions in this process (engine_in_process_per_s).

    --audit N adds the audit chain at scale (audit_* figures): a valid chain
    of N events written straight into the scratch database, then verified
    as `fundflow audit verify` does; its time and rate, the walk alone, the
    processes that walked it, and hash_only_s, the SHA-256 of the same
    canonical bytes alone, timed while the chain was built, with their ratio;
    then the command itself on that chain, start-up included
    (audit_command_s).

    --memory N adds an app process's memory over N transitions fired through
    the engine (memory_* figures): its resident set after a warm-up, at each
    tenth of the run and at the end, and the growth in per cent.

    --pages N adds page timings (server time p50/p99 of each page and of the
    API calls answering the same question, and their ratio; the heaviest
    page's script in KB).

    --queries R times the read side on the database the app is configured
    with, not a scratch one: a data set made by `fundflow generate
    --applications N`. Each query is the service call its page or API call
    makes, R times with seeded, varied filters: queries_applications, then
    <query>_p50_ms and <query>_p99_ms per query (the officer's dashboard by
    each filter, a deep page and the counts; the API list; the pool search;
    reviewer suggestions; statistics; the compliance list; the country
    report; the public list; document verification by number and by file),
    beside floor_aggregate, a bare SQL aggregate. Every connection is read-only,
    and queries_unchanged checks the chain head and row counts afterwards.

    --review N adds expert review at scale (review_* figures): a pool of 5 x N
    experts imported as CSV files and a call of N applications in expert
    review; then as many bare INSERTs of an assignment row as the action will
    make (the floor), the officer's one action assigning 3 suggested,
    conflict-free experts to each application (a job, timed to its row
    done), and the ratio; then the pool's suggestions for 200 of the
    applications, p50 and p99. `--review 2000` is the fund's case: 10,000
    experts, 6,000 assignments.

    Progress bars go to stderr, so stdout stays parseable.
    """
    from contextlib import closing

    if not any((engine, documents, pages, http_clients, audit_events, memory_transitions, query_rounds,
                review_applications)):
        raise click.UsageError("nothing to run: --no-engine without --documents N, --pages N, --http C, "
                               "--audit N, --memory N, --queries R or --review N")
    runs = []
    if engine:
        from .bench import run

        runs.append(run(database_url=database_url, n=count, progress=_progress))
    if documents:
        from .bench_documents import run as run_documents

        runs.append(run_documents(database_url=database_url, n=documents, progress=_progress))
    if pages:
        from .bench_pages import run as run_pages

        runs.append(run_pages(database_url=database_url, n=pages, progress=_progress))
    if http_clients:
        from .bench_http import run as run_http

        runs.append(run_http(database_url=database_url, n=count, clients=http_clients, progress=_progress))
    if audit_events:
        from .bench_audit import run as run_audit

        runs.append(run_audit(database_url=database_url, n=audit_events, progress=_progress))
    if memory_transitions:
        from .bench_memory import run as run_memory

        runs.append(run_memory(database_url=database_url, n=memory_transitions, progress=_progress))
    if query_rounds:
        from .bench_queries import run as run_queries

        runs.append(run_queries(n=query_rounds, progress=_progress))
    if review_applications:
        from .bench_review import run as run_review

        runs.append(run_review(database_url=database_url, n=review_applications, progress=_progress))
    from .bench_queries import NoDataSet

    failed = False
    for figures in runs:
        with closing(figures):  # an interrupted run still stops its servers and removes its files
            try:
                for name, value in figures:
                    click.echo(f"{name}: {value}")
                    failed |= value == "false"  # a check (documents_numbers_ok, ...) failed
            except NoDataSet as err:  # --queries on a database that is no data set
                raise click.UsageError(str(err)) from None
    if failed:
        sys.exit(1)


def _progress(label: str, total: int):
    """A progress bar on stderr, so stdout stays parseable."""
    return click.progressbar(length=total, label=label, file=sys.stderr)


@main.command()
def worker() -> None:
    """Run an RQ worker and its outbox relay (needs FUNDFLOW_REDIS_URL)."""
    from .worker import main as run

    sys.exit(run())


@main.group()
def translate() -> None:
    """The pages' message catalogues (Chinese; English is the source)."""


@translate.command("update")
def translate_update() -> None:
    """Extract the marked messages, merge them into the catalogues and compile them."""
    from . import translate as catalogues

    for language, missing in catalogues.update().items():
        click.echo(f"{language}: {missing} messages without a translation")


@translate.command("compile")
def translate_compile() -> None:
    """Compile the catalogues (.po to .mo)."""
    from . import translate as catalogues

    for language in catalogues.LANGUAGES:
        click.echo(catalogues.compile_catalog(language))


@main.command()
@click.option("--applications", "count", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="How many applications the data set holds.")
@click.option("--seed", default=2026, show_default=True,
              help="Random seed: the same seed and --as-of give the same data set.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day the data set reaches; its ten years of calls end there (default: today, Beijing time).")
@click.option("--follow-ups", type=click.Choice(["pending", "none"]), default="pending", show_default=True,
              help="pending: the notices and decision documents the transitions staged stay in the outbox for "
                   "a worker; none: leave them out (benchmark data sets).")
@click.option("--batch", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Steps per write transaction.")
def generate(count: int, seed: int, as_of, follow_ups: str, batch: int) -> None:
    """Build a national-scale data set through the engine, into an empty database.

    Ten years of calls, four a year, with the demo's institutions, bodies of
    every channel, bases and partner mechanisms and more of the country's;
    a reviewer pool; and N applications spread over every state of the
    lifecycle: old calls decided and their projects closed, recent ones
    under review, the last one open. Every state change is fired through
    the engine by the actor who makes it, dated in the ten years, many to a
    write transaction; the audit chain verifies afterwards.

    Follow-ups: with --follow-ups pending (the default) the notices and the
    numbered decision documents the transitions staged are left undone in
    the outbox, as after a crash: the next `fundflow serve` (its background
    thread) or `fundflow worker` drains them, rendering every decision
    document, which takes hours for a large set. --follow-ups none leaves
    them out: no notices and no documents, for benchmark data sets.

    Every generated account signs in with the password fundflow-generated;
    one account per role is printed at the end, after one `name: value`
    line per figure. The progress bar goes to stderr.
    """
    from .generate import generate as run
    from .errors import WorkflowError
    from .migrate import upgrade

    app = _app()
    upgrade(db.engine())
    try:
        summary = run(count, seed=seed, as_of=as_of.date() if as_of else None, follow_ups=follow_ups, batch=batch,
                      progress=_progress)
    except WorkflowError as err:
        raise click.UsageError(err.message) from None
    figures = {"applications": summary.applications, "events": summary.events, "transitions": summary.transitions,
               "seconds": f"{summary.seconds:.1f}", "transitions_per_s": f"{summary.transitions_per_s:.0f}",
               "events_per_s": f"{summary.events_per_s:.0f}", "follow_ups": summary.follow_ups,
               "follow_ups_pending": summary.pending, "database_bytes": _database_bytes(app)}
    for name, value in figures.items():
        click.echo(f"{name}: {value}")
    for state, n in sorted(summary.states.items()):
        click.echo(f"state_{state}: {n}")
    click.echo("\nSign in with one account per role:")
    _print_accounts(summary.accounts)


def _database_bytes(app: Flask) -> int:
    """The database's size on disk: the SQLite file and its write-ahead log, or PostgreSQL's own figure."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = Path(db.engine().url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    from sqlalchemy import text

    with db.engine().connect() as c:
        return int(c.scalar(text("SELECT pg_database_size(current_database())")))

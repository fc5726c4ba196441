"""`fundflow bench` prints every figure it promises; no timing is asserted."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from workflow import bench_http
from workflow.cli import main

FIGURES = ("engine_per_s", "engine_p50_ms", "engine_p99_ms", "floor_per_s", "floor_p50_ms", "floor_p99_ms",
           "engine_floor_ratio", "engine_floor_p50_ratio", "verify_events_per_s")


def bench(*args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["bench", "-n", "50", *args])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    figures = dict(line.split(": ", 1) for line in lines)
    assert len(figures) == len(lines), "every line of stdout is one `name: value`"
    return figures


def assert_positive_figures(figures: dict[str, str]) -> None:
    for name in FIGURES:
        assert name in figures, f"{name} missing from {sorted(figures)}"
        assert float(figures[name]) > 0, f"{name}: {figures[name]}"


def test_bench_on_a_fresh_sqlite_file_prints_every_figure():
    figures = bench()
    assert_positive_figures(figures)
    assert figures["database"] == "sqlite"
    assert figures["sqlite_synchronous"] == "FULL"
    assert int(figures["verify_events"]) >= 100  # both sides' changes are on the one verified chain


def test_bench_on_postgresql_leaves_no_schema_behind(postgres_template):
    figures = bench("--database-url", postgres_template)
    assert_positive_figures(figures)
    assert figures["database"] == "postgresql"
    engine = create_engine(postgres_template)
    with engine.connect() as c:
        left = c.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fundflow_bench_%'")).all()
    engine.dispose()
    assert left == []


AUDIT_FIGURES = ("audit_build_s", "audit_verify_s", "audit_walk_s", "audit_verify_per_s", "hash_only_s",
                 "audit_verify_hash_ratio", "audit_verify_cpu_s", "hash_only_cpu_s", "audit_verify_cpu_hash_ratio",
                 "audit_command_s")


def bench_audit(*args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["bench", "--no-engine", "--audit", "3000", *args])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    figures = dict(line.split(": ", 1) for line in lines)
    assert len(figures) == len(lines), "every line of stdout is one `name: value`"
    for name in AUDIT_FIGURES:
        assert float(figures[name]) > 0, f"{name}: {figures.get(name)}"
    assert figures["audit_verify_events"] == "3000"  # the whole chain, its checkpoint last
    assert figures["audit_verify_intact"] == figures["audit_command_intact"] == "true"
    return figures


def test_bench_audit_verifies_a_built_chain_on_sqlite():
    assert bench_audit()["audit_database"] == "sqlite"


def test_bench_audit_on_postgresql_leaves_no_schema_behind(postgres_template):
    assert bench_audit("--database-url", postgres_template)["audit_database"] == "postgresql"
    engine = create_engine(postgres_template)
    with engine.connect() as c:
        left = c.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fundflow_bench_%'")).all()
    engine.dispose()
    assert left == []


def test_bench_memory_reads_the_process_at_each_tenth_of_the_run():
    result = CliRunner().invoke(main, ["bench", "--no-engine", "--memory", "30"])
    assert result.exit_code == 0, result.output
    figures = dict(line.split(": ", 1) for line in result.output.splitlines() if ": " in line)
    assert figures["memory_transitions"] == "30"
    readings = [float(r) for r in figures["memory_readings_mb"].split()]
    assert len(readings) == 12 and all(r > 10 for r in readings)  # after warm-up, ten tenths, after draining
    assert float(figures["memory_rss_start_mb"]) == readings[0] and float(figures["memory_rss_end_mb"]) == readings[-1]
    growth = 100 * (readings[-1] - readings[0]) / readings[0]
    assert abs(float(figures["memory_growth_pct"]) - growth) < 0.01


def test_bench_http_fires_every_transition_through_gunicorn_and_queues_each_follow_up(postgres_template):
    result = CliRunner().invoke(main, ["bench", "--no-engine", "--http", "4", "-n", "40",
                                       "--database-url", postgres_template])
    assert result.exit_code == 0, result.output
    figures = dict(line.split(": ", 1) for line in result.stdout.splitlines() if line)
    assert figures["http_clients"] == "4"
    assert figures["http_errors"] == "0"
    assert float(figures["http_per_s"]) > 0 and float(figures["engine_in_process_per_s"]) > 0
    # 40 timed suspends and resumes over HTTP and each client's untimed warm-up, each staging one
    # notice, all waiting in Redis, none run
    assert figures["http_follow_ups_queued"] == str(40 + 4 * bench_http.WARM_UP)
    assert int(figures["verify_events"]) >= 40
    # Where the requests' CPU went: gunicorn, the PostgreSQL server the set-up runs here, the clients
    sides = [float(figures[f"http_{side}_cpu_ms"]) for side in ("server", "database", "redis", "clients")]
    assert sides[0] > 0 and sides[1] > 0 and sides[3] > 0 and min(sides) >= 0
    assert abs(float(figures["http_cpu_ms"]) - sum(sides)) < 0.05
    assert float(figures["http_cpu_bound_per_s"]) > 0


def test_cpu_use_counts_the_server_s_processes_and_its_children_apart_from_the_rest(monkeypatch):
    table = [(10, 1, "python", 2.0), (11, 10, "python", 3.0), (12, 10, "python", 1.5), (20, 1, "postgres", 4.0),
             (21, 20, "postgres", 1.0), (30, 1, "redis-server", 0.5), (40, 1, "python", 9.0)]
    monkeypatch.setattr(bench_http, "_processes", lambda tick: iter(table))
    monkeypatch.setattr(bench_http.time, "process_time", lambda: 7.0)
    use = bench_http._CpuUse.now(10)
    assert (use.server, use.database, use.redis, use.clients) == (6.5, 5.0, 0.5, 7.0)
    figures = dict((use - bench_http._CpuUse(1.5, 1.0, 0.5, 3.0)).per_request(1000))
    assert (figures["http_server_cpu_ms"], figures["http_database_cpu_ms"], figures["http_redis_cpu_ms"],
            figures["http_clients_cpu_ms"], figures["http_cpu_ms"]) == (5.0, 4.0, 0.0, 4.0, 13.0)
    cores = len(bench_http.os.sched_getaffinity(0))
    assert figures["http_cpu_bound_per_s"] == round(cores * 1000 / 13.0, 1)

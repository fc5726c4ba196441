"""Fresh migrated databases for tests, on SQLite and on PostgreSQL.

SQLite: a copy of one migrated file per test (a millisecond).

PostgreSQL: each test process (each xdist worker) migrates a template database of its own
once, and keeps one working database made from it. Before each test the working database is
emptied: other connections to it are ended, every table but alembic_version is emptied with
DELETE, children before parents, and every sequence restarts, so ids start from 1 as on a new
database. Measured on this project's 2-core machine (issue 10), a fresh database per test cost:

    CREATE DATABASE ... TEMPLATE, then DROP      185 ms (throwaway server), 370 ms (local, fsync on)
    the same with STRATEGY FILE_COPY             261 ms,                     933 ms
    one TRUNCATE ... RESTART IDENTITY CASCADE    107 ms,                     327 ms
    DELETE from each table, sequences restarted   14 ms,                      24 ms

Each test's URL carries its own application_name, so a cache keyed by the URL (as SQLite's
one file per test gives) never carries one test's rows into the next, and pg_stat_activity
names the test. A database a test needs besides the working one (a module's own, a seeded
world copied per example) is made with CREATE DATABASE ... TEMPLATE and dropped afterwards.
"""
from __future__ import annotations

import itertools
import os
import re
from graphlib import CycleError, TopologicalSorter

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from workflow.db import make_engine
from workflow.migrate import upgrade

PREFIX = "fundflow_t"
# What a test could change besides rows: columns, defaults, constraints, indexes, triggers, sequences'
# definitions and the migration revision. A working database that no longer matches is made again.
SCHEMA = text("""
SELECT md5(string_agg(item, ';' ORDER BY item)) FROM (
  SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
         || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS item
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
   WHERE connamespace = current_schema()::regnamespace
  UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
  UNION ALL SELECT tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'revision ' || version_num FROM alembic_version
) AS schema""")  # every database these tests make: fundflow_t<pid>_<what>


def url_of(server_url: str, database: str, **query: str) -> str:
    url = make_url(server_url).set(database=database)
    if query:
        url = url.update_query_dict(query)
    return url.render_as_string(hide_password=False)


class PostgresDatabases:
    """The databases one test process makes on one PostgreSQL server."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.pid = os.getpid()
        self.template = f"{PREFIX}{self.pid}_template"
        self.working = f"{PREFIX}{self.pid}_working"
        self._names = itertools.count(1)
        self._uses = itertools.count(1)
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self._drop_stale()
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)', f'CREATE DATABASE "{self.template}"')
        engine = make_engine(url_of(server_url, self.template))
        upgrade(engine)
        engine.dispose()
        self._execute(f'DROP DATABASE IF EXISTS "{self.working}" WITH (FORCE)',
                      f'CREATE DATABASE "{self.working}" TEMPLATE "{self.template}"')
        self._working_engine: Engine = create_engine(url_of(server_url, self.working))
        with self._working_engine.connect() as c:
            self._schema = c.execute(SCHEMA).scalar()
            self._tables = self._children_first(c)  # the schema stays as it was, so does the order

    # -- the working database, emptied for each test

    def fresh(self, label: str = "") -> str:
        """The working database, emptied; its URL for one test."""
        with self._working_engine.begin() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            drifted = c.execute(SCHEMA).scalar() != self._schema
        if drifted:  # a test changed the schema (or its revision): start again from the template
            self._working_engine.dispose()
            self._execute(f'DROP DATABASE IF EXISTS "{self.working}" WITH (FORCE)',
                          f'CREATE DATABASE "{self.working}" TEMPLATE "{self.template}"')
            return self.url(self.working, label)
        with self._working_engine.begin() as c:
            for table in self._tables:
                c.execute(text(f'DELETE FROM "{table}"'))
            c.execute(text("SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s "
                           "JOIN pg_class q ON q.oid = s.seqrelid "
                           "WHERE q.relnamespace = current_schema()::regnamespace"))
        return self.url(self.working, label)

    @staticmethod
    def _children_first(c) -> list[str]:
        tables = c.execute(text(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relkind IN ('r', 'p') AND relname <> 'alembic_version'")).scalars().all()
        parents = {t: set() for t in tables}
        for child, parent in c.execute(text(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace")):
            child, parent = child.strip('"'), parent.strip('"')
            if child != parent and child in parents:
                parents[child].add(parent)
        try:
            return list(reversed(list(TopologicalSorter(parents).static_order())))
        except CycleError as err:  # no such schema today; say so rather than empty it half-way
            raise RuntimeError(f"foreign keys form a cycle, so tables cannot be emptied in order: {err}") from None

    def url(self, database: str, label: str = "") -> str:
        """A URL for one use of `database`; tests need no durability, as SQLite's SYNCHRONOUS=OFF."""
        name = f"fundflow-test-{self.pid}-{next(self._uses)}"
        if label:
            name += "-" + re.sub(r"[^\w.-]+", "_", label)[-40:]
        return url_of(self.server_url, database, application_name=name[:63],
                      options="-csynchronous_commit=off")

    # -- databases besides the working one

    def create(self, template: str | None = None) -> str:
        """A new database copied from `template` (the migrated one by default); its name."""
        name = f"{PREFIX}{self.pid}_{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template or self.template}"')
        return name

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._working_engine.dispose()
        self._execute(f'DROP DATABASE IF EXISTS "{self.working}" WITH (FORCE)',
                      f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.admin.dispose()

    def _execute(self, *statements: str) -> None:
        with self.admin.connect() as c:
            for statement in statements:
                c.execute(text(statement))

    def _drop_stale(self) -> None:
        """Drop what test processes of this machine that are gone left behind (a killed run)."""
        with self.admin.connect() as c:
            names = c.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                              {"p": PREFIX + "%"}).scalars().all()
        for name in names:
            found = re.match(rf"{PREFIX}(\d+)_", name)
            if found and int(found.group(1)) != self.pid and not _alive(int(found.group(1))):
                self.drop(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Test data made through the services, with state traits."""
from __future__ import annotations

import datetime as dt
import itertools

from flask import Flask

from workflow import db
from workflow.lifecycle import Cast, drive
from workflow.models import Application, Body, Call, Institution, User
from workflow.permissions import Actor
from workflow.services import accounts
from workflow.services.applications import create_application

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


class Factory:
    """Builds rows for one test's app; every write goes through a service."""

    def __init__(self, app: Flask):
        self.app = app

    def _add(self, row):
        with self.app.app_context(), db.write_session() as s:
            s.add(row)
        return row

    def institution(self, kind: str = "university", name: str | None = None) -> Institution:
        n = _n()
        return self._add(Institution(name=name or f"测试大学{n}", name_en=f"Test University {n}", kind=kind))

    def body(self, channel: str = "intergovernmental", kind: str = "bilateral_commission") -> Body:
        return self._add(Body(name=f"推荐单位{_n()}", channel=channel, kind=kind))

    def call(self, *, open_: bool = True, **kw) -> Call:
        now = dt.datetime.now(dt.timezone.utc)
        window = (now - dt.timedelta(days=30), now + dt.timedelta(days=30)) if open_ else (
            now - dt.timedelta(days=60), now - dt.timedelta(days=1))
        fields = dict(code=f"GJHZ-2026-{_n():03d}", title="2026年度国际科技合作专项", opens_at=window[0],
                      closes_at=window[1], total_budget=50_000_000, quorum=3, min_matching_ratio=0.0)
        fields.update(kw)
        return self._add(Call(**fields))

    def user(self, role: str, *, institution: Institution | None = None, body: Body | None = None,
             email: str | None = None) -> Actor:
        if role == "applicant" and institution is None:
            institution = self.institution()
        if role == "recommender" and body is None:
            body = self.body()
        with self.app.app_context():
            user = accounts.create_user(email or f"{role}{_n()}@example.cn", PASSWORD, role,
                                        name=f"{role} {_n()}",
                                        institution_id=institution.id if institution else None,
                                        body_id=body.id if body else None)
        return Actor.of(user)

    def token(self, actor: Actor) -> str:
        with self.app.app_context():
            return accounts.issue_token(actor.email, PASSWORD)

    def application_data(self, call: Call, body: Body, **kw) -> dict:
        data = dict(call_id=call.id, title="中德新能源材料联合研究", title_en="Sino-German joint research on "
                    "energy materials", summary="面向储能应用的新型电极材料合作研究。", field="energy_resources",
                    cooperation_type="joint_rnd", channel=body.channel, body_id=body.id, duration_months=36,
                    partners=[{"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"}],
                    budget={"central": 3_000_000, "local_matching": 1_000_000, "self_raised": 500_000},
                    sensitive_technology=False)
        data.update(kw)
        return data

    def cast(self, applicant: Actor | None = None, recommender: Actor | None = None) -> Cast:
        applicant = applicant or self.user("applicant")
        recommender = recommender or self.user("recommender")
        return Cast(applicant=applicant, recommender=recommender, officer=self.user("officer"),
                    reviewers=[self.user("reviewer", institution=self.institution()) for _ in range(3)])

    def application(self, state: str = "draft", *, cast: Cast | None = None, call: Call | None = None,
                    **fields) -> tuple[Application, Cast]:
        """An application in `state`, driven there through the engine; and the cast that drove it."""
        cast = cast or self.cast()
        call = call or self.call()
        with self.app.app_context():
            s = db.session()
            body = s.get(Body, cast.recommender.body_id)
            app = create_application(cast.applicant, self.application_data(call, body, **fields))
            drive(cast, app.id, state)
            return self.reload(app.id), cast

    def reload(self, app_id: int) -> Application:
        with self.app.app_context(), db.write_session() as s:
            app = s.get(Application, app_id)
            app.partners, app.attachments, app.reviews, app.milestones, app.call  # load while attached
            return app

    def get(self, model, row_id: int):
        with self.app.app_context(), db.write_session() as s:
            return s.get(model, row_id)

    def expert(self, institution: Institution | None = None, *, fields=("energy_resources",), country: str = "CN",
               languages=("zh", "en"), active: bool = True) -> Actor:
        """A reviewer with a profile in the pool."""
        from workflow.models import ExpertProfile

        actor = self.user("reviewer", institution=institution or self.institution())
        self._add(ExpertProfile(user_id=actor.id, fields=list(fields), country=country, languages=list(languages),
                                active=active))
        return actor

    def rubric_call(self, **kw) -> Call:
        """A call scored by the plan's default rubric (as registry.create_call gives every new call)."""
        from workflow.services import rubrics

        call = self.call(**kw)
        with self.app.app_context(), db.write_session() as s:
            rubrics.add_default(s, s.get(Call, call.id))
        return call

    def base(self, kind: str = "joint_research_center", *, retired: bool = False):
        """An international cooperation base of the registry."""
        from workflow.models import CooperationBase

        return self._add(CooperationBase(name=f"国际联合研究中心{_n()}", name_en="Joint Research Center", kind=kind,
                                         retired=retired))


__all__ = ["Factory", "PASSWORD", "User"]


# --- API requests the tests share ---------------------------------------------


def upload(client, app_id: int, kind: str, content: bytes | None = None, filename: str | None = None):
    """POST one attachment as multipart through an ApiClient; returns the response."""
    import io

    from workflow.lifecycle import minimal_pdf

    content = minimal_pdf(kind) if content is None else content
    return client.client.post(
        f"/api/v1/applications/{app_id}/attachments",
        data={"kind": kind, "file": (io.BytesIO(content), filename or f"{kind}.pdf")},
        headers=client._headers(), content_type="multipart/form-data")


def snapshot(factory: Factory, app_id: int, subject: str = "application", subject_id: int | None = None):
    """(state, version) of the application or one of its reviews/milestones, its event count and the chain head.

    Read straight from the database, so a refusal can be shown to have changed nothing at all.
    """
    from sqlalchemy import text

    table = {"application": "applications", "review": "reviews", "milestone": "milestones"}[subject]
    with factory.app.extensions["fundflow.engine"].connect() as c:
        state, version = c.execute(text(f"SELECT state, version FROM {table} WHERE id = :i"),
                                   {"i": subject_id or app_id}).one()
        count = c.execute(text("SELECT count(*) FROM events WHERE application_id = :i"), {"i": app_id}).scalar()
        # Sign-ins are events too (a test's client may sign in meanwhile); anything else moves the head.
        head = c.execute(text("SELECT coalesce(max(id), 0) FROM events WHERE subject <> 'sign_in'")).scalar()
    return state, version, count, head


def events_after(factory: Factory, event_id: int) -> list[dict]:
    """The audit events appended after `event_id`, oldest first, as dicts (`data` decoded, as PostgreSQL's
    driver hands it back and SQLite's does not)."""
    import json

    from sqlalchemy import text

    with factory.app.extensions["fundflow.engine"].connect() as c:
        # Sign-ins are events too; a test's client signing in on the way is not what it looks for.
        rows = [dict(r) for r in c.execute(text(
            "SELECT * FROM events WHERE id > :i AND subject <> 'sign_in' ORDER BY id"), {"i": event_id}).mappings()]
    for row in rows:
        if isinstance(row["data"], str):
            row["data"] = json.loads(row["data"])
    return rows


def tamper(app: Flask, statement: str, **params) -> None:
    """Change rows as someone with the database would, past the app: foreign keys are no obstacle
    to them (switched off on SQLite's file; on PostgreSQL a superuser's replica role skips them)."""
    import sqlite3

    from sqlalchemy import text

    engine = app.extensions["fundflow.engine"]
    if engine.dialect.name == "sqlite":
        connection = sqlite3.connect(engine.url.database)
        connection.execute("PRAGMA foreign_keys=OFF")
        with connection:
            connection.execute(statement, params)
        connection.close()
        return
    with engine.begin() as c:
        c.execute(text("SET LOCAL session_replication_role = replica"))
        c.execute(text(statement), params)

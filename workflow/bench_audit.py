"""`fundflow bench --audit N`: `fundflow audit verify` over N events, beside hashing the same bytes alone.

The chain is built straight into a scratch database (a SQLite file in a temp
dir, or a PostgreSQL schema of its own, as the engine benchmark's) with bulk
Core inserts: driving a million events through the engine would take a
quarter of an hour or more. The events are still real links: each is hashed from the shared
canonical form (`audit.canonical_of`) onto the one before it, and the
applications they move exist, in the state their last event leaves them, so
the rows replay as the verification checks them. About nine events per
application, interleaved across a wave of applications and spread over ten
years, in the mix of paths a call's applications take; one signed checkpoint
at the end.

The hashing is timed while the chain is built: SHA-256 over each event's
previous hash and canonical bytes, the chain's own arithmetic, with nothing
read or encoded. `audit_verify_s` is what `fundflow audit verify` does with
the same chain (`verify_chain`: the walk, the checkpoints, the replay of the
rows); `audit_walk_s` is the walk alone, up to its last progress report;
`audit_command_s` the command itself run on the same chain, start-up included.
The *_cpu_s figures are processor seconds (this process and its walkers), which
other work on a shared machine stretches far less than the clock; on PostgreSQL
they leave out the server's own.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import resource
import secrets
import subprocess
import sys
import time
from typing import Any, Iterator

from flask import current_app
from sqlalchemy import func, insert, select, update

from . import audit, checkpoints, db, outbox
from .bench import PASSWORD, Progress, scratch_app
from .models import Application, ChainHead, Event, utcnow
from .permissions import Actor
from .services import accounts, registry
from .services.audit_log import verify_chain

WAVE = 2000  # applications whose events are built, interleaved and inserted together
BENCH_KEY = "fundflow-bench-audit-key"
START = dt.datetime(2016, 3, 1, tzinfo=dt.timezone.utc)
YEARS = 10
_EVENT_KEYS = (*audit.CANONICAL_FIELDS, "prev_hash", "hash")

# trigger: (subject, from_state, to_state, role, comment)
STEPS = {
    "create": ("application", None, "draft", "applicant", None),
    "upload_proposal": ("attachment", None, None, "applicant", None),
    "upload_cooperation_agreement": ("attachment", None, None, "applicant", None),
    "submit": ("application", "draft", "pending_recommendation", "applicant", None),
    "recommend": ("application", "pending_recommendation", "formal_review", "recommender",
                  "项目与双边政府间合作重点方向一致，外方合作单位资质齐全，同意推荐。"),
    "decline_recommendation": ("application", "pending_recommendation", "not_recommended", "recommender",
                               "外方合作单位资质证明不足，本年度不予推荐。"),
    "return_for_revision": ("application", "pending_recommendation", "revision_requested", "recommender",
                            "预算编制不符合指南要求，请核减设备费并说明地方配套来源。"),
    "edit": ("application", "revision_requested", "revision_requested", "applicant", None),
    "resubmit": ("application", "revision_requested", "pending_recommendation", "applicant", None),
    "pass_formal_review": ("application", "formal_review", "expert_review", "officer", None),
    "close_review": ("application", "expert_review", "decision_pending", "system", None),
    "approve": ("application", "decision_pending", "approved", "officer", None),
    "reject": ("application", "decision_pending", "rejected", "officer",
               "预算合理性不足，中外双方分工不清晰，不予立项。"),
    "upload_signed_agreement": ("attachment", None, None, "applicant", None),
    "sign_agreement": ("application", "approved", "in_progress", "applicant", None),
    "request_closeout": ("application", "in_progress", "closeout_review", "applicant", None),
    "accept_closeout": ("application", "closeout_review", "completed", "officer",
                        "完成任务书规定的各项考核指标，同意通过验收。"),
}
_FUNDED = ("create", "upload_proposal", "upload_cooperation_agreement", "submit", "recommend",
           "pass_formal_review", "close_review", "approve", "upload_signed_agreement", "sign_agreement")
# Ten applications in a row take these paths: four under way, two completed, two rejected after review,
# one not recommended, one sent back for revision and resubmitted.
PATHS = (
    *[_FUNDED] * 4,
    *[(*_FUNDED, "request_closeout", "accept_closeout")] * 2,
    *[(*_FUNDED[:7], "reject")] * 2,
    ("create", "upload_proposal", "submit", "decline_recommendation"),
    ("create", "upload_proposal", "submit", "return_for_revision", "edit", "resubmit"),
)
FIELDS = ("energy_resources", "new_materials_manufacturing", "information_networks", "modern_agriculture",
          "biology_health", "ecology_environment", "space_ocean", "public_safety")
TITLES = ("中德新能源材料联合研究", "中俄寒区农业节水技术合作", "中国—东盟热带病防控联合实验室",
          "中欧海洋观测数据共享与应用", "中非杂交水稻示范推广", "中以智慧灌溉技术引进与示范")


def run(database_url: str | None, n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    """Build a chain of `n` events, verify it as the command does; yield (name, value) per figure."""
    if n < 1:
        raise ValueError("--audit needs at least 1 event")
    with scratch_app(database_url) as app:
        app.config["AUDIT_KEY"] = BENCH_KEY
        yield "audit_database", db.engine().dialect.name
        start = time.perf_counter()
        hashing, hashing_cpu = build_chain(n, progress)
        yield "audit_build_s", round(time.perf_counter() - start, 2)
        # The set-up's follow-ups are done; with their thread gone the walk may fork as the command does.
        outbox.stop_background(app)
        session = app.extensions["fundflow.sessions"]()
        try:
            walkers = audit.walkers_for(audit.head(session)[0], session)
        finally:
            session.close()
        result, seconds, walked, cpu = _verify(n, progress)
        yield "audit_verify_events", result.events
        yield "audit_verify_intact", "true" if result.intact else "false"
        yield "audit_verify_walkers", walkers
        yield "audit_verify_s", round(seconds, 3)
        yield "audit_walk_s", round(walked, 3)
        yield "audit_verify_per_s", round(result.events / seconds, 1)
        yield "hash_only_s", round(hashing, 3)
        yield "audit_verify_hash_ratio", round(seconds / hashing, 2) if hashing else 0
        # Processor time, which other work on the machine does not stretch as it stretches the clock: what
        # the walk costs per event against hashing alone (on PostgreSQL the server's share is not in it).
        yield "audit_verify_cpu_s", round(cpu, 3)
        yield "hash_only_cpu_s", round(hashing_cpu, 3)
        yield "audit_verify_cpu_hash_ratio", round(cpu / hashing_cpu, 2) if hashing_cpu else 0
        command_s, command_ok = _command(app)
        yield "audit_command_s", round(command_s, 3)
        yield "audit_command_intact", "true" if command_ok else "false"


def _command(app) -> tuple[float, bool]:
    """`fundflow audit verify` itself on the same chain, in a process of its own: start-up and imports
    included, as someone running it waits for them."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("FUNDFLOW_REDIS_URL", "FUNDFLOW_SMTP_URL")}
    env.update(FUNDFLOW_DATABASE_URL=app.config["DATABASE_URL"], FUNDFLOW_DATA_DIR=app.config["DATA_DIR"],
               FUNDFLOW_AUDIT_KEY=BENCH_KEY, FUNDFLOW_SECRET_KEY=app.config["SECRET_KEY"])
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from workflow.cli import main; main()", "audit", "verify"],
                          env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode == 0


def _verify(total: int, progress: Progress):
    """verify_chain() timed; also the moment its walk last reported progress, and the processor time it
    took in this process and its walkers."""
    with progress("verifying the audit chain", total) as bar:
        done, walked = [0], [0.0]
        cpu = _cpu()
        start = time.perf_counter()

        def advance(count: int) -> None:
            bar.update(count - done[0])
            done[0] = count
            walked[0] = time.perf_counter() - start

        result = verify_chain(progress=advance)
        seconds = time.perf_counter() - start
    return result, seconds, walked[0], _cpu() - cpu


def _cpu() -> float:
    """Processor seconds of this process and of its children that have ended (the walkers, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build_chain(n: int, progress: Progress) -> tuple[float, float]:
    """Append events until the chain holds `n` (the last a signed checkpoint); return the seconds hashing took,
    by the clock and in processor time."""
    actors = _cast()
    engine = db.engine()
    with engine.connect() as conn:
        head_id, head_hash = conn.execute(select(ChainHead.event_id, ChainHead.hash)
                                          .where(ChainHead.id == audit.HEAD_ID)).one()
        next_app = (conn.scalar(select(func.max(Application.id))) or 0) + 1
    to_build = max(0, n - head_id - 1)  # the checkpoint is the last
    step = dt.timedelta(days=365 * YEARS) / max(to_build, 1)
    hashing, hashing_cpu, built, attachments = 0.0, 0.0, 0, itertools.count(1)
    with progress("building the audit chain", n) as bar:
        bar.update(head_id)
        while built < to_build:
            apps, events = _wave(next_app, actors, to_build - built, attachments)
            values = [(head_id + 1 + i, *event[:8], START + (built + i) * step + dt.timedelta(microseconds=i % 997),
                       *event[8:]) for i, event in enumerate(events)]
            contents = [audit.canonical_of(v) for v in values]
            hashes, prev = [], head_hash
            t0, c0 = time.perf_counter(), time.process_time()
            for content in contents:
                prev = audit.link_hash(prev, content)
                hashes.append(prev)
            hashing += time.perf_counter() - t0
            hashing_cpu += time.process_time() - c0
            rows = [dict(zip(_EVENT_KEYS, (*v, p, h))) for v, p, h in zip(values, [head_hash, *hashes], hashes)]
            with engine.begin() as conn:
                conn.execute(insert(Application.__table__), apps)
                conn.execute(insert(Event.__table__), rows)
                conn.execute(update(ChainHead.__table__).where(ChainHead.id == audit.HEAD_ID)
                             .values(event_id=values[-1][0], hash=hashes[-1]))
            head_id, head_hash = values[-1][0], hashes[-1]
            built += len(values)
            next_app += len(apps)
            bar.update(len(values))
        s = current_app.extensions["fundflow.sessions"]()
        try:
            checkpoints.write(s, BENCH_KEY, checkpoints.path_in(current_app.config["DATA_DIR"]))
        finally:
            s.close()
        bar.update(1)
    return hashing, hashing_cpu


def _cast() -> dict[str, Any]:
    """The call, institution, body and people the events name, made through the services."""
    tag = secrets.token_hex(3)
    admin = Actor.of(accounts.create_user(f"admin-{tag}@bench.example.cn", PASSWORD, "admin"))
    home = registry.create_institution(admin, {"name": f"基准测试大学{tag}", "name_en": "Bench University",
                                               "kind": "university"})
    body = registry.create_body(admin, {"name": f"基准推荐单位{tag}", "channel": "intergovernmental",
                                        "kind": "bilateral_commission"})
    now = utcnow()
    call = registry.create_call(admin, {
        "code": f"BENCH-AUDIT-{tag}", "title": "基准测试指南", "opens_at": now - dt.timedelta(days=30),
        "closes_at": now + dt.timedelta(days=30), "total_budget": 10**13, "quorum": 3})
    people = {"applicant": accounts.create_user(f"applicant-{tag}@bench.example.cn", PASSWORD, "applicant",
                                                institution_id=home.id),
              "recommender": accounts.create_user(f"recommender-{tag}@bench.example.cn", PASSWORD, "recommender",
                                                  body_id=body.id),
              "officer": accounts.create_user(f"officer-{tag}@bench.example.cn", PASSWORD, "officer")}
    return {"call": call.id, "institution": home.id, "body": body.id, "channel": body.channel,
            **{role: user.id for role, user in people.items()}, "system": None}


def _wave(first_app: int, actors: dict[str, Any], limit: int,
          attachments: Iterator[int]) -> tuple[list[dict], list[tuple]]:
    """Up to WAVE applications and at most `limit` of their events, interleaved step by step as a call's
    applications move together; the rows in the state their events leave them."""
    paths = {app_id: PATHS[app_id % len(PATHS)] for app_id in range(first_app, first_app + WAVE)}
    rows: dict[int, dict] = {}
    uploads: dict[int, int] = {}  # each application's last attachment, which its agreement signs
    events: list[tuple] = []
    for k in range(max(len(p) for p in paths.values())):
        for app_id, path in paths.items():
            if k >= len(path):
                continue
            if len(events) == limit:
                return list(rows.values()), events
            name = path[k]
            subject, from_state, to_state, role, comment = STEPS[name]
            row = rows.setdefault(app_id, _application(app_id, actors))
            data, subject_id = _data(name, app_id, row, attachments, uploads)
            events.append((app_id, subject, subject_id, name.split("_")[0] if subject == "attachment" else name,
                           from_state, to_state, actors[role], role, comment, data))
            if to_state is not None:
                row["state"], row["version"] = to_state, row["version"] + 1
            if name == "approve":
                row["approved_amount"] = data["approved_amount"]
    return list(rows.values()), events


def _application(app_id: int, actors: dict[str, Any]) -> dict:
    central = 1_000_000 + (app_id * 7919) % 40 * 100_000
    return {"id": app_id, "call_id": actors["call"], "institution_id": actors["institution"],
            "created_by_id": actors["applicant"], "title": f"{TITLES[app_id % len(TITLES)]}（{app_id}）",
            "title_en": None, "summary": "面向合作双方共同关注的问题开展联合研究与示范。",
            "field": FIELDS[app_id % len(FIELDS)], "cooperation_type": "joint_rnd", "channel": actors["channel"],
            "body_id": actors["body"], "budget_central": central, "budget_local_matching": central // 2,
            "budget_self_raised": central // 4, "duration_months": 36, "state": "draft", "version": 0,
            "workflow_version": 1, "approved_amount": None}


def _data(name: str, app_id: int, row: dict, attachments: Iterator[int],
          uploads: dict[int, int]) -> tuple[dict, int]:
    """The data an event of this step records, as the engine writes it, and its subject id."""
    if name.startswith("upload_"):
        kind = name.removeprefix("upload_")
        attachment = next(attachments)
        uploads[app_id] = attachment
        return {"kind": kind, "filename": f"{kind}.pdf", "size": 180_000 + attachment % 90_000,
                "sha256": hashlib.sha256(f"{app_id}:{kind}".encode()).hexdigest()}, attachment
    data: dict[str, Any] = {"workflow_version": 1}
    if name == "edit":
        data = {"fields": ["summary", "budget"]}
    elif name == "close_review":
        data["quorum"] = {"submitted": 3, "quorum": 3}
        data["follows"] = {"subject": "review", "id": app_id * 3, "trigger": "submit_review"}
    elif name == "approve":
        data["approved_amount"] = row["budget_central"] * 9 // 10
    elif name == "sign_agreement":
        data["signed_attachment_id"] = uploads.get(app_id)
        data["milestones"] = [
            {"title": "合作协议备案与联合研究启动", "kind": "joint_research_output", "due_date": "2027-06-30",
             "evidence": "合作协议备案回执、联合研究启动会纪要"},
            {"title": "中期联合研究成果与人员互访", "kind": "talent_exchange", "due_date": "2028-06-30",
             "evidence": "阶段研究报告、互访人员名单"}]
    elif name == "request_closeout":
        data["outcomes"] = {"papers": 6, "patents": 2, "standards": 0, "technologies_transferred": 1,
                            "experts_engaged": 4, "researchers_trained": 5}
    return data, app_id


__all__ = ["run", "build_chain"]

"""Drive an application along its lifecycle through the engine, as its real actors would.

The demo data set and the tests build applications in every state this way,
never by writing state columns, so every row they make has a true history.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Callable

from . import db
from .models import Application
from .permissions import Actor
from .services import applications as apps
from .services.transitions import fire


def minimal_pdf(text: str = "fundflow") -> bytes:
    """A small, well-formed one-page PDF (valid xref), for uploads made by scripts."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@dataclass
class Cast:
    """The people who move one application: its applicant, its body's recommender, the fund's staff."""

    applicant: Actor
    recommender: Actor
    officer: Actor
    reviewers: list[Actor]
    now: Callable[[], dt.datetime] | None = None
    log: list[str] = field(default_factory=list)

    def fire(self, who: Actor, app_id: int, trigger: str, **kwargs) -> None:
        fire(who, "application", app_id, trigger, **kwargs)
        self.log.append(trigger)

    def upload(self, app_id: int, kind: str) -> None:
        apps.add_attachment(self.applicant, app_id, kind, f"{kind}.pdf", io.BytesIO(minimal_pdf(kind)))


# Each step moves an application one state on, along the main road or off it.
def _submit(c: Cast, app_id: int) -> None:
    have = _application(app_id).attachment_kinds()
    for kind in ("proposal", "cooperation_agreement"):
        if kind not in have:
            c.upload(app_id, kind)
    c.fire(c.applicant, app_id, "submit")


def _recommend(c: Cast, app_id: int) -> None:
    c.fire(c.recommender, app_id, "recommend", comment="符合本渠道推荐条件，同意推荐。")


def _pass_formal(c: Cast, app_id: int) -> None:
    c.fire(c.officer, app_id, "pass_formal_review")


def _expert_review(c: Cast, app_id: int, scores=(88, 82, 79, 90, 85)) -> None:
    quorum = _application(app_id).call.quorum
    for reviewer, score in zip(c.reviewers[:quorum], scores):
        review = apps.assign_reviewer(c.officer, app_id, reviewer.id)
        review_as(reviewer, review.id, score, "研究目标明确，合作基础扎实。", "fund")
    c.log.append("close_review")


def review_as(reviewer: Actor, review_id: int, total: float, opinion: str, recommendation: str) -> None:
    """Declare no conflict where the review's workflow asks for it, then score `total` of 100 (per the rubric)."""
    from .engine import workflow
    from .models import Review
    from .services import rubrics

    review = db.session().get(Review, review_id)
    if "declare_no_conflict" in workflow("review", review.workflow_version).triggers():
        fire(reviewer, "review", review_id, "declare_no_conflict")
    fire(reviewer, "review", review_id, "submit_review",
         payload=rubrics.submission(review_id, total, opinion, recommendation))


def _approve(c: Cast, app_id: int) -> None:
    app = _application(app_id)
    c.fire(c.officer, app_id, "approve", payload={"approved_amount": app.budget_central * 9 // 10})


def _sign(c: Cast, app_id: int, months=(6, 12, 18)) -> None:
    c.upload(app_id, "signed_agreement")
    start = (c.now() if c.now else dt.datetime.now(dt.timezone.utc)).date()
    milestones = [{"title": f"第{i}阶段合作任务", "due_date": (start + dt.timedelta(days=30 * m)).isoformat()}
                  for i, m in enumerate(months, start=1)]
    c.fire(c.applicant, app_id, "sign_agreement", payload={"milestones": milestones})


def _perform(c: Cast, app_id: int) -> None:
    """Report and accept every milestone, attach the final report and ask for close-out."""
    for milestone in _application(app_id).milestones:
        fire(c.applicant, "milestone", milestone.id, "report", payload={"report": "按协议完成本阶段任务。"})
        fire(c.officer, "milestone", milestone.id, "accept")
    c.upload(app_id, "final_report")
    c.fire(c.applicant, app_id, "request_closeout", payload={"outcomes": {
        "papers": 6, "patents": 2, "standards": 1, "technologies_transferred": 1,
        "experts_engaged": 4, "researchers_trained": 5}})


def _simple(trigger: str, who: str, comment: str | None = None) -> Callable[[Cast, int], None]:
    def step(c: Cast, app_id: int) -> None:
        c.fire(getattr(c, who), app_id, trigger, comment=comment)
    step.__name__ = trigger
    return step


ROAD = {  # state -> (state before it, the step from there)
    "pending_recommendation": ("draft", _submit),
    "revision_requested": ("pending_recommendation",
                           _simple("return_for_revision", "recommender", "请补充外方合作单位的合作意向书。")),
    "not_recommended": ("pending_recommendation",
                        _simple("decline_recommendation", "recommender", "与本渠道重点合作方向不符。")),
    "formal_review": ("pending_recommendation", _recommend),
    "ineligible": ("formal_review", _simple("reject_ineligible", "officer", "申报材料不符合形式审查要求。")),
    "expert_review": ("formal_review", _pass_formal),
    "decision_pending": ("expert_review", _expert_review),
    "rejected": ("decision_pending", _simple("reject", "officer", "综合评审意见，本年度不予立项。")),
    "approved": ("decision_pending", _approve),
    "in_progress": ("approved", _sign),
    "suspended": ("in_progress", _simple("suspend", "officer", "合作协议履约情况需核查，暂停执行。")),
    "terminated": ("in_progress", _simple("terminate", "officer", "外方合作单位退出，项目无法继续执行。")),
    "closeout_review": ("in_progress", _perform),
    "completed": ("closeout_review", _simple("accept_closeout", "officer")),
    "failed_acceptance": ("closeout_review",
                          _simple("fail_closeout", "officer", "主要考核指标未完成。")),
    "withdrawn": ("draft", _simple("withdraw", "applicant")),
}


def path_to(state: str) -> list[Callable[[Cast, int], None]]:
    """The steps that take a fresh draft to `state`."""
    steps = []
    while state != "draft":
        state, step = ROAD[state]
        steps.append(step)
    return steps[::-1]


def drive(cast: Cast, app_id: int, state: str) -> None:
    """Take the draft `app_id` to `state` through the engine."""
    for step in path_to(state):
        step(cast, app_id)


def _application(app_id: int) -> Application:
    s = db.session()
    s.expire_all()
    return s.get(Application, app_id)

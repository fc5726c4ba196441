"""Decision documents: numbered gap-free, rendered once, Chinese that extracts, hash in the audit chain."""
from __future__ import annotations

import hashlib
import random
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from workflow import audit, db, documents
from workflow.jobs import issue_document
from workflow.models import Document, Event



def _decision_event(app, app_id, trigger):
    with app.app_context():
        return db.session().scalar(select(Event.id).where(Event.application_id == app_id,
                                                          Event.trigger == trigger))


def _issue(app, kind, event_id):
    with app.app_context():
        issue_document(kind, event_id)
        doc = db.session().scalar(select(Document).where(Document.source_event_id == event_id))
        path = documents.folder() / doc.stored_name
        return doc, path


def pdftotext(path) -> str:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    return "".join(text.decode().split())  # pdftotext breaks Chinese lines: compare without whitespace


def test_an_approval_notice_carries_the_decision_in_chinese(app, factory):
    application, _ = factory.application("approved")
    event_id = _decision_event(app, application.id, "approve")

    doc, path = _issue(app, "decision_notice", event_id)

    assert doc.number.startswith("国科合〔") and doc.number.endswith("0001号")
    text = pdftotext(path)
    for expected in ("国家国际科技合作专项", "立项通知书", "NoticeofProjectApproval", doc.number,
                     application.title, "FraunhoferISE", "德国", f"{application.approved_amount:,}",
                     "政府间合作"):
        assert expected in text, expected
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    assert "立项通知书" in info and "Author:" in info and "A4" in info
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    assert "CJK" in fonts and " yes " in fonts  # the CJK font is embedded


def test_a_retry_makes_no_second_number_and_the_same_file(app, factory):
    application, _ = factory.application("approved")
    event_id = _decision_event(app, application.id, "approve")
    first, path = _issue(app, "decision_notice", event_id)
    content = path.read_bytes()

    path.unlink()  # lost file: the retry renders it again, byte for byte
    again, path = _issue(app, "decision_notice", event_id)
    assert (again.id, again.number, again.sha256) == (first.id, first.number, first.sha256)
    assert path.read_bytes() == content
    assert hashlib.sha256(content).hexdigest() == first.sha256
    with app.app_context():
        issued = db.session().scalars(select(Event).where(Event.subject == "document")).all()
        assert len(issued) == 1 and issued[0].data["sha256"] == first.sha256
        assert audit.verify(db.session())[1] is None


@pytest.mark.parametrize("state, trigger, kind, words", [
    ("rejected", "reject", "rejection_notice", ["不予立项通知书", "综合评审意见，本年度不予立项。"]),
    ("terminated", "terminate", "termination_notice", ["项目终止通知书", "外方合作单位退出", "第1阶段合作任务"]),
    ("completed", "accept_closeout", "acceptance_opinion", ["结题验收意见", "论文（篇）", "已验收"]),
])
def test_every_kind_of_document(app, factory, state, trigger, kind, words):
    application, _ = factory.application(state)
    doc, path = _issue(app, kind, _decision_event(app, application.id, trigger))
    text = pdftotext(path)
    assert doc.number in text
    for word in words:
        assert word in text, word


def test_numbers_stay_gap_free_under_concurrency_and_rollbacks(app):
    """Eight threads take numbers; one in ten rolls back: the committed ones are exactly 1..N."""
    committed, lock, rng = [], threading.Lock(), random.Random(7)
    plan = [rng.random() < 0.1 for _ in range(80)]

    def take(rollback: bool):
        with app.app_context():
            try:
                with db.write_session() as s:
                    seq = documents.next_seq(s, "decision_notice", 2026)
                    if rollback:
                        raise RuntimeError("rolled back")
            except RuntimeError:
                return
            with lock:
                committed.append(seq)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(take, plan))
    assert sorted(committed) == list(range(1, plan.count(False) + 1))


def test_numbers_are_per_kind_and_year(app):
    with app.app_context(), db.write_session() as s:
        seqs = [documents.next_seq(s, kind, year) for kind, year in
                [("decision_notice", 2026), ("decision_notice", 2026), ("rejection_notice", 2026),
                 ("decision_notice", 2027)]]
    assert seqs == [1, 2, 1, 1]
    assert documents.format_number("decision_notice", 2026, 7) == "国科合〔2026〕0007号"

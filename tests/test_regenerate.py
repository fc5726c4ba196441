"""Regenerating a call's decision documents: one background job, checked against the recorded hashes, with progress."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select, text

from workflow import audit, db, documents, outbox
from workflow.models import Document, Event, Outbox

from .conftest import TEST_CONFIG, ApiClient


@pytest.fixture
def issued(factory):
    """A call with four issued documents (approved, rejected, terminated), a draft, and another call's notice."""
    call = factory.call()
    cast = factory.cast()
    apps = [factory.application(state, cast=cast, call=call)[0] for state in ("approved", "rejected", "terminated")]
    factory.application("draft", cast=cast, call=call)
    factory.application("approved", cast=cast)  # another call: not this job's business
    with factory.app.app_context():
        docs = list(db.session().scalars(select(Document).where(Document.application_id.in_([a.id for a in apps]))
                                         .order_by(Document.id)))
    assert sorted(d.kind for d in docs) == ["decision_notice", "decision_notice", "rejection_notice",
                                            "termination_notice"]
    return call, cast, docs


def _path(app, document: Document) -> Path:
    return Path(app.config["DATA_DIR"]) / "documents" / document.stored_name


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _count(app, sql: str) -> int:
    with app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text(sql)).scalar()


def test_one_job_checks_every_document_of_the_call_and_reports_progress(app, factory, api, issued, monkeypatch):
    call, cast, docs = issued
    officer = api(cast.officer)
    events_before = _count(app, "SELECT count(*) FROM events WHERE subject <> 'sign_in'")
    jobs_before = _count(app, "SELECT count(*) FROM outbox")
    seen = []  # the row's progress as another connection sees it, each time a document is rendered
    render = documents.render

    def watched(frozen):
        seen.append(_count(app, "SELECT progress_done FROM outbox ORDER BY id DESC LIMIT 1"))
        return render(frozen)
    monkeypatch.setattr(documents, "render", watched)

    r = officer.post(f"/calls/{call.id}/documents/regenerate")
    assert r.status_code == 202, r.json
    job = r.json
    assert _count(app, "SELECT count(*) FROM outbox") == jobs_before + 1  # one job, however many documents
    assert job["job"] == "regenerate_documents" and job["payload"] == {"call_id": call.id}
    assert job["started_by_id"] == cast.officer.id
    assert job["done_at"] and job["attempts"] == 1 and job["last_error"] is None  # in-process: already run
    assert job["progress_total"] == job["progress_done"] == len(docs) == 4
    assert job["progress_note"] == "4 intact, 0 restored, 0 replaced, 0 failed"
    assert job["result"] == {"call_id": call.id, "total": 4, "intact": 4, "restored": 0, "replaced": 0,
                             "failed": 0, "findings": []}
    assert seen == [0, 1, 2, 3]  # committed document by document, not at the end
    assert _count(app, "SELECT count(*) FROM events WHERE subject <> 'sign_in'") == events_before  # nothing to restore, nothing recorded

    assert officer.get(f"/jobs/{job['id']}").json == job
    assert api(factory.user("admin")).get(f"/jobs/{job['id']}").json == job
    r = api(factory.user("officer")).get(f"/jobs/{job['id']}")  # a colleague's job: admins only
    assert r.status_code == 403 and r.json["error"] == "not_permitted", r.json


def test_a_deleted_file_is_restored_byte_identical_and_recorded(app, factory, api, issued):
    call, cast, docs = issued
    path = _path(app, docs[1])
    path.unlink()

    job = api(cast.officer).post(f"/calls/{call.id}/documents/regenerate").json
    assert job["result"]["restored"] == 1 and job["result"]["intact"] == 3, job
    assert job["result"]["findings"] == [{"document_id": docs[1].id, "number": docs[1].number,
                                          "outcome": "restored", "detail": "the file was missing"}]
    assert _sha(path) == docs[1].sha256 and path.stat().st_size == docs[1].size
    download = api(cast.applicant).get(f"/documents/{docs[1].id}")
    assert download.status_code == 200 and hashlib.sha256(download.data).hexdigest() == docs[1].sha256

    with app.app_context():
        s = db.session()
        restore = s.scalar(select(Event).where(Event.subject == "document", Event.trigger == "restore"))
        assert restore.subject_id == docs[1].id and restore.role == "system"
        assert restore.data == {"kind": docs[1].kind, "number": docs[1].number, "sha256": docs[1].sha256}
        assert audit.verify(s)[1] is None  # the chain still holds
        after = {d.id: (d.number, d.seq, d.sha256) for d in s.scalars(select(Document))}
    assert all(after[d.id] == (d.number, d.seq, d.sha256) for d in docs)  # no second number, no new hash

    again = api(cast.officer).post(f"/calls/{call.id}/documents/regenerate").json
    assert again["result"]["intact"] == 4 and again["result"]["findings"] == []


def test_an_altered_file_is_kept_aside_restored_and_reported(app, factory, api, issued):
    call, cast, docs = issued
    path = _path(app, docs[0])
    forged = path.read_bytes() + "\n% 经费改为 9,000,000 元\n".encode()
    path.write_bytes(forged)
    forged_sha = hashlib.sha256(forged).hexdigest()

    job = api(factory.user("admin")).post(f"/calls/{call.id}/documents/regenerate").json
    assert job["result"]["replaced"] == 1 and job["result"]["intact"] == 3, job
    finding = job["result"]["findings"][0]
    assert finding["document_id"] == docs[0].id and finding["outcome"] == "replaced"
    assert forged_sha in finding["detail"]
    assert "1 replaced" in job["progress_note"]

    assert _sha(path) == docs[0].sha256  # the recorded document is back
    kept = path.parent / "altered" / f"{docs[0].stored_name}.{forged_sha[:16]}"
    assert kept.read_bytes() == forged  # and the altered one kept as evidence
    with app.app_context():
        restore = db.session().scalar(select(Event).where(Event.trigger == "restore"))
        assert restore.data["found_sha256"] == forged_sha and restore.data["sha256"] == docs[0].sha256
        assert restore.data["kept_as"] == f"altered/{kept.name}"


def test_a_context_that_no_longer_renders_the_same_is_a_failure_and_nothing_is_written(app, factory, api, issued,
                                                                                      monkeypatch):
    call, cast, docs = issued
    missing = _path(app, docs[2])
    missing.unlink()
    others = {d.id: _sha(_path(app, d)) for d in docs if d.id != docs[2].id}
    events_before = _count(app, "SELECT count(*) FROM events WHERE subject <> 'sign_in'")
    numbers_before = _count(app, "SELECT sum(value) FROM document_counters")
    render = documents.render
    monkeypatch.setattr(documents, "render", lambda frozen: render(frozen) + b"\n% new fonts\n")

    job = api(cast.officer).post(f"/calls/{call.id}/documents/regenerate").json
    assert job["done_at"] and job["result"]["failed"] == 4 and job["progress_done"] == 4, job
    assert {f["outcome"] for f in job["result"]["findings"]} == {"failed"}
    assert all("not the recorded" in f["detail"] for f in job["result"]["findings"])
    assert not missing.exists()  # never a different file
    assert {i: _sha(_path(app, d)) for d in docs if (i := d.id) in others} == others
    assert _count(app, "SELECT count(*) FROM events WHERE subject <> 'sign_in'") == events_before
    assert _count(app, "SELECT sum(value) FROM document_counters") == numbers_before
    assert _count(app, "SELECT count(*) FROM documents") == 5


def test_one_document_that_cannot_render_does_not_stop_the_others(app, factory, api, issued, monkeypatch):
    call, cast, docs = issued
    _path(app, docs[3]).unlink()
    render = documents.render

    def flaky(frozen):
        if frozen["doc"]["number"] == docs[0].number:
            raise OSError("font file unreadable")
        return render(frozen)
    monkeypatch.setattr(documents, "render", flaky)
    job = api(cast.officer).post(f"/calls/{call.id}/documents/regenerate").json
    assert (job["result"]["failed"], job["result"]["restored"], job["result"]["intact"]) == (1, 1, 2), job
    assert "font file unreadable" in job["result"]["findings"][0]["detail"]


def test_only_the_funds_staff_may_regenerate_and_read_jobs(app, factory, api, issued):
    call, cast, docs = issued
    jobs_before = _count(app, "SELECT count(*) FROM outbox")
    for who in (cast.applicant, cast.recommender, cast.reviewers[0]):
        r = api(who).post(f"/calls/{call.id}/documents/regenerate")
        assert r.status_code == 403 and r.json["error"] == "not_permitted", r.json
        assert api(who).get("/jobs/1").status_code == 403
    assert _count(app, "SELECT count(*) FROM outbox") == jobs_before

    officer = api(cast.officer)
    r = officer.post("/calls/999999/documents/regenerate")
    assert r.status_code == 404 and r.json["error"] == "not_found", r.json
    assert _count(app, "SELECT count(*) FROM outbox") == jobs_before
    assert officer.get("/jobs/999999").status_code == 404
    assert api(factory.user("admin")).get("/jobs/999999").status_code == 404


def test_a_call_without_documents_is_done_at_once(factory, api):
    officer = api(factory.user("officer"))
    job = officer.post(f"/calls/{factory.call().id}/documents/regenerate").json
    assert job["done_at"] and job["progress_total"] == job["progress_done"] == 0
    assert job["result"]["total"] == 0


def test_under_rq_the_job_reports_progress_in_its_meta_too(app, factory, issued, redis_url):
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job

    from workflow import create_app

    call, cast, docs = issued
    queued = create_app({**TEST_CONFIG, "DATA_DIR": app.config["DATA_DIR"],
                         "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": redis_url})
    try:
        _path(app, docs[0]).unlink()
        r = ApiClient(queued.test_client(), factory.token(cast.officer)).post(
            f"/calls/{call.id}/documents/regenerate")
        assert r.status_code == 202 and r.json["dispatched_at"] and r.json["done_at"] is None, r.json
        assert r.json["progress_done"] is None
        job_id = r.json["id"]

        with queued.app_context():
            connection = Redis.from_url(redis_url)
            SimpleWorker([outbox.QUEUE], connection=connection).work(burst=True)
            rq_job = Job.fetch(f"outbox-{job_id}", connection=connection)
            assert rq_job.meta["progress"] == {"done": 4, "total": 4,
                                               "note": "3 intact, 1 restored, 0 replaced, 0 failed"}
            assert rq_job.return_value()["restored"] == 1
            connection.close()
            row = db.session().get(Outbox, job_id)
            assert row.done_at and (row.progress_done, row.progress_total) == (4, 4)
            assert row.result["findings"][0]["document_id"] == docs[0].id
        assert _sha(_path(app, docs[0])) == docs[0].sha256
    finally:
        queued.extensions["fundflow.engine"].dispose()

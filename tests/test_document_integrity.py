"""A generated document is served only while its bytes hash to the SHA-256 its issue event recorded; otherwise
the download is refused (503, being restored), every active admin is told once, and the document is restored."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select, text

from workflow import db, documents
from workflow.models import Document, Event, Notice, Outbox


@pytest.fixture
def issued(factory, api):
    """An approved application's decision notice, its applicant's client, and two active admins and a former one."""
    application, cast = factory.application("approved")
    admins = [factory.user("admin"), factory.user("admin"), factory.user("admin")]
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": admins[2].id})
    with factory.app.app_context():
        document = db.session().scalar(select(Document).where(Document.application_id == application.id))
    client = api(cast.applicant)
    assert client.get(f"/documents/{document.id}").status_code == 200
    return document, client, admins, cast


def _path(app, document) -> Path:
    return Path(app.config["DATA_DIR"]) / "documents" / document.stored_name


def _rows(app, model, **where):
    with app.app_context():
        return list(db.session().scalars(select(model).filter_by(**where).order_by(model.id)))


def _refused(response) -> None:
    assert response.status_code == 503, response.data[:200]
    assert response.json["error"] == "unavailable" and "being restored" in response.json["message"]
    assert int(response.headers["Retry-After"]) > 0  # when to try again
    assert not response.data.startswith(b"%PDF")


def test_an_altered_file_is_refused_admins_are_told_and_it_is_restored(app, issued):
    document, client, admins, _ = issued
    path = _path(app, document)
    recorded = path.read_bytes()
    forged = recorded.replace(b"2,700,000", b"9,700,000") + b"\n% edited\n"
    path.write_bytes(forged)

    _refused(client.get(f"/documents/{document.id}"))

    notices = _rows(app, Notice, kind="document_altered")
    assert sorted(n.user_id for n in notices) == [admins[0].id, admins[1].id]  # active admins only
    assert document.number in notices[0].subject and hashlib.sha256(forged).hexdigest() in notices[0].body
    jobs = _rows(app, Outbox, job="regenerate_document")
    assert len(jobs) == 1 and jobs[0].done_at is not None and jobs[0].result["outcome"] == "replaced"

    assert path.read_bytes() == recorded  # restored from the frozen context, byte for byte
    kept = list((path.parent / "altered").iterdir())
    assert [p.read_bytes() for p in kept] == [forged]
    restore = _rows(app, Event, trigger="restore")
    assert len(restore) == 1 and restore[0].data["found_sha256"] == hashlib.sha256(forged).hexdigest()

    again = client.get(f"/documents/{document.id}")
    assert again.status_code == 200 and again.data == recorded
    assert again.headers["X-Content-SHA256"] == hashlib.sha256(recorded).hexdigest()


def test_admins_are_told_once_per_document_however_many_downloads_fail(app, issued, monkeypatch, pages):
    document, client, admins, cast = issued
    path = _path(app, document)
    path.write_bytes(path.read_bytes() + b"\n% edited\n")

    def fonts_changed(frozen):
        raise RuntimeError("fonts changed")
    monkeypatch.setattr(documents, "render", fonts_changed)  # the restore cannot succeed: the file stays altered

    for _ in range(3):
        _refused(client.get(f"/documents/{document.id}"))
    page = pages(cast.applicant).get(f"/documents/{document.id}")
    assert page.status_code == 503 and f"文件 {document.number} 正在恢复" in page.get_data(as_text=True)
    assert not page.data.startswith(b"%PDF")

    assert len(_rows(app, Notice, kind="document_altered")) == 2  # one per active admin, not one per download
    jobs = _rows(app, Outbox, job="regenerate_document")
    assert len(jobs) == 1 and jobs[0].result["outcome"] == "failed"


def test_a_missing_file_is_refused_and_restored(app, issued):
    document, client, _, _ = issued
    path = _path(app, document)
    recorded = path.read_bytes()
    path.unlink()
    _refused(client.get(f"/documents/{document.id}"))
    assert path.read_bytes() == recorded
    assert "文件已缺失" in _rows(app, Notice, kind="document_altered")[0].body
    assert client.get(f"/documents/{document.id}").data == recorded


def test_a_forged_file_with_the_row_changed_to_match_is_refused_by_the_event(app, issued):
    """Whoever edits the file and documents.sha256 together still meets the hash in the audit event."""
    document, client, _, _ = issued
    path = _path(app, document)
    forged = path.read_bytes() + b"\n% edited\n"
    path.write_bytes(forged)
    with app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE documents SET sha256 = :h WHERE id = :id"),
                  {"h": hashlib.sha256(forged).hexdigest(), "id": document.id})
    _refused(client.get(f"/documents/{document.id}"))


def test_an_issue_event_edited_to_match_a_forged_file_no_longer_counts(app, issued):
    document, client, _, _ = issued
    path = _path(app, document)
    forged = path.read_bytes() + b"\n% edited\n"
    digest = hashlib.sha256(forged).hexdigest()
    path.write_bytes(forged)
    with app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE documents SET sha256 = :h WHERE id = :id"), {"h": digest, "id": document.id})
        # the JSON as text on both databases (PostgreSQL's driver would hand back a dict)
        data = c.execute(text("SELECT CAST(data AS TEXT) FROM events WHERE id = :id"),
                         {"id": document.issued_event_id}).scalar()
        c.execute(text("UPDATE events SET data = :d WHERE id = :id"),
                  {"d": data.replace(document.sha256, digest), "id": document.issued_event_id})
    with app.app_context():
        row = db.session().get(Document, document.id)
        assert row.sha256 == digest and db.session().get(Event, document.issued_event_id).data["sha256"] == digest
        assert documents.recorded_sha256(db.session(), row) is None  # the event no longer hashes to itself
    _refused(client.get(f"/documents/{document.id}"))


def test_nothing_is_cached_an_edit_after_a_good_download_is_refused(app, issued, pages):
    document, client, _, cast = issued
    page = pages(cast.applicant)
    assert page.get(f"/documents/{document.id}").status_code == 200
    _path(app, document).write_bytes(_path(app, document).read_bytes() + b" ")
    assert page.get(f"/documents/{document.id}").status_code == 503


def test_a_good_download_has_the_safe_headers(app, issued):
    document, client, _, _ = issued
    response = client.get(f"/documents/{document.id}")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename={document.kind}-{document.year}-{document.seq:04d}.pdf")

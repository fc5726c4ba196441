"""A document refused because its bytes no longer match the audit trail answers 503 with Retry-After, on the
API and the page, on SQLite and PostgreSQL; once the regenerate job has restored it, it is served again."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from workflow import db
from workflow.models import Document

from .conftest import ApiClient, PageClient
from .factories import Factory


@pytest.fixture
def issued(app):
    """An approved application's decision notice, its applicant, and the file as it was issued."""
    factory = Factory(app)
    factory.user("admin")
    application, cast = factory.application("approved")
    with app.app_context():
        document = db.session().scalar(select(Document).where(Document.application_id == application.id))
    path = Path(app.config["DATA_DIR"]) / "documents" / document.stored_name
    return app, factory, cast, document, path


def _retry_after(response) -> int:
    assert response.status_code == 503, response.data[:200]
    assert not response.data.startswith(b"%PDF")
    return int(response.headers["Retry-After"])


def test_an_altered_document_says_when_to_try_again(issued):
    app, factory, cast, document, path = issued
    api = ApiClient(app.test_client(), factory.token(cast.applicant))
    recorded = path.read_bytes()
    good = api.get(f"/documents/{document.id}")
    assert good.status_code == 200 and "Retry-After" not in good.headers

    path.write_bytes(recorded + b"\n% edited\n")
    refused = api.get(f"/documents/{document.id}")
    assert 0 < _retry_after(refused) <= 600 and refused.get_json()["error"] == "unavailable"
    assert path.read_bytes() == recorded  # the regenerate job (inline in tests) restored it
    assert api.get(f"/documents/{document.id}").data == recorded


@pytest.mark.parametrize("language, text", [("zh", "正在恢复"), ("en", "is being restored")])
def test_the_page_download_says_when_to_try_again_in_the_readers_language(issued, language, text):
    app, factory, cast, document, path = issued
    page = PageClient(app.test_client(), language)
    assert page.sign_in(cast.applicant.email).status_code == 302
    path.unlink()
    refused = page.get(f"/documents/{document.id}")
    assert 0 < _retry_after(refused) <= 600 and text in refused.get_data(as_text=True)
    assert page.get(f"/documents/{document.id}").status_code == 200

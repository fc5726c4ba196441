"""Generated documents, the inbox and the job list."""
from __future__ import annotations

import io

from flask import jsonify, send_file

from .. import schemas
from ..errors import Unavailable
from ..services import documents as svc
from .blueprint import bp
from .common import actor, page, query
from .errors import workflow_error

DOCUMENT = schemas.DocumentOut()
NOTICE = schemas.NoticeOut()
JOB = schemas.JobOut()


@bp.get("/applications/<int:app_id>/documents")
def list_documents(app_id: int):
    return jsonify({"items": DOCUMENT.dump(svc.documents_of(actor(), app_id), many=True)})


@bp.get("/documents/<int:doc_id>")
def download_document(doc_id: int):
    try:
        document, content = svc.document_file(actor(), doc_id)  # the checked bytes, never the path again
    except Unavailable as err:  # no longer the recorded bytes: being restored, so say when to come back
        response = workflow_error(err)
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    response = send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True,
                         download_name=f"{document.kind}-{document.year}-{document.seq:04d}.pdf")
    response.headers["X-Content-SHA256"] = document.sha256
    return response


@bp.get("/notices")
def list_notices():
    args = query(schemas.NoticeQuery())
    items, total = svc.inbox(actor(), args["unread"], args["page"], args["per_page"])
    return jsonify(page(items, total, args["page"], args["per_page"], NOTICE))


@bp.post("/notices/<int:notice_id>/read")
def read_notice(notice_id: int):
    return jsonify(NOTICE.dump(svc.mark_read(actor(), notice_id)))


@bp.get("/jobs")
def list_jobs():
    args = query(schemas.JobQuery())
    items, total = svc.jobs(args.get("state"), args["page"], args["per_page"])
    return jsonify(page(items, total, args["page"], args["per_page"], JOB))


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    return jsonify(JOB.dump(svc.retry_job(job_id)))


@bp.post("/calls/<int:call_id>/documents/regenerate")
def regenerate_documents(call_id: int):
    return jsonify(JOB.dump(svc.regenerate_documents(actor(), call_id))), 202


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    return jsonify(JOB.dump(svc.get_job(actor(), job_id)))

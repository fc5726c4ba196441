"""Pages: the background jobs (admins): what failed and why, and a second go once the cause is fixed.

The routes join the administration blueprint, so they share its admins-only rule.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from ..errors import WorkflowError
from ..services import documents
from .admin import bp
from .common import refuse
from .i18n import datetime
from .job_labels import job_label

STATES = ("failed", "pending", "done")
PER_PAGE = 50


@bp.get("/admin/jobs")
def jobs():
    state = request.args.get("state", "failed")
    if state not in STATES:
        state = "failed"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = documents.jobs(state, page, PER_PAGE)
    counts = {s: documents.jobs(s, 1, 1)[1] for s in STATES}
    return render_template("admin/jobs.html", rows=rows, total=total, state=state, page=page,
                           per_page=PER_PAGE, counts=counts, when=datetime, job_label=job_label)


@bp.post("/admin/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    try:
        documents.retry_job(job_id)
    except WorkflowError as err:
        refuse(err)
    else:
        flash(gettext("Job %(id)s was handed over to run again.", id=job_id), "success")
    return redirect(url_for("admin.jobs", state=request.args.get("state", "failed")))

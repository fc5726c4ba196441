"""Pages: the signed-in user's notice inbox."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..services import documents
from .common import actor, safe_next
from .dashboard import bp

PER_PAGE = 20


@bp.get("/inbox")
def inbox():
    """The signed-in user's notices, newest first, the unread ones marked; `?unread=1` shows only those."""
    me = actor()
    unread_only = request.args.get("unread") == "1"
    raw = request.args.get("page", "")
    page = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100000 else 1
    items, total = documents.inbox(me, unread_only=unread_only, page=page, per_page=PER_PAGE)
    _, unread = documents.inbox(me, unread_only=True, page=1, per_page=1)
    return render_template("dashboard/inbox.html", items=items, total=total, unread=unread, unread_only=unread_only,
                           page=page, per_page=PER_PAGE)


@bp.post("/inbox/<int:notice_id>/read")
def read_notice(notice_id: int):
    """Mark one notice read (someone else's notice answers 404), then back to the inbox."""
    documents.mark_read(actor(), notice_id)
    return redirect(safe_next(url_for("dashboard.inbox")), 303)

"""What each background job does, as the pages name it: one label per job of workflow/jobs.py's JOBS.

The admin jobs page and a job's progress page show the label and keep the code beside it for support.
tests/web/test_jobs_page.py fails when a job has no label here.
"""
from __future__ import annotations

from flask_babel import gettext

from .messages import N_

JOB_LABELS = {
    "decision_notice": N_("Issue the notice of project approval"),
    "rejection_notice": N_("Issue the notice of rejection"),
    "termination_notice": N_("Issue the notice of termination"),
    "acceptance_opinion": N_("Issue the close-out acceptance opinion"),
    "regenerate_documents": N_("Check and restore a call's documents"),
    "regenerate_document": N_("Check and restore one document"),
    "notify": N_("Tell those concerned of a step in the workflow"),
    "notify_review_assigned": N_("Tell an expert of a review assignment"),
    "notify_review_declined": N_("Tell the officer that an expert declined"),
    "notify_review_replaced": N_("Tell the officer that an assignment was replaced"),
    "notify_milestone_returned": N_("Tell the applicant that a milestone report was returned"),
    "assign_reviewers": N_("Assign reviewers"),
}


def job_label(code: str) -> str:
    """The job's label in the reader's language; a job added without one shows its code."""
    label = JOB_LABELS.get(code)
    return gettext(label) if label else code


__all__ = ["JOB_LABELS", "job_label"]

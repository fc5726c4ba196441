"""Who may do what: one table of routes, and one ownership rule per role.

`ROUTES` names, for every endpoint of the app, the roles that may call it, and
what must be the actor's own: the application in the URL (`APPLICATION`,
checked before the view runs, 404 otherwise), or a record the service checks
(`STARTED_BY`: a job is its officer's). The API refuses any other role before
a view runs (403; without a token, 401). A trigger's roles are in states/ and
the engine checks them on firing; its route is open to every role. The pages
ask the same table first (a stranger is sent to sign in).

`OWNERSHIP` is which applications an actor of each role may see and act on:
the applicant institution's staff theirs, a recommending body what is routed
to it, a reviewer what they are assigned, the fund's officers what was
submitted, admins everything. permissions.py reads it for queries, for one
application and for firing; an application outside it does not exist for the
actor (404).

A route missing from the table is refused to everyone but admins, and
tests/test_access_table.py fails on it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .actors import ROLES, Actor

PUBLIC = "public"  # no sign-in
APPLICATION = "application"  # the application in the URL is the actor's own (OWNERSHIP), or it does not exist
STARTED_BY = "started_by"  # the record is one the actor started; the service refuses others' (403)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]  # who may call it; PUBLIC alone: anyone, signed in or not
    owned: str | None = None  # APPLICATION, STARTED_BY or None
    refusal: str | None = None  # what a refused role is told (an English message the catalogue translates)

    @property
    def public(self) -> bool:
        return PUBLIC in self.roles

    def allows(self, actor: Actor | None) -> bool:
        if self.public:
            return True
        return actor is not None and (actor.role in self.roles or actor.workflow_role in self.roles)


def rule(*roles: str, owned: str | None = None, refusal: str | None = None) -> Rule:
    return Rule(frozenset(roles), owned, refusal)


DASHBOARD = "the dashboard is for program officers and administrators"
STATISTICS = "statistics are for the fund's program officers and administrators"
EVERYONE = ROLES
STAFF = ("officer",)  # admins count as officers
ADMIN = ("admin",)

# Which applications are an actor's own, by role: the name of the rule permissions.py applies.
OWNERSHIP = {
    "applicant": "own_institution",
    "recommender": "routed_body",
    "reviewer": "assigned_reviewer",
    "officer": "submitted",
    "admin": "all",
    "system": "all",
}

ROUTES: dict[str, Rule] = {
    # --- the API -----------------------------------------------------------------------------------
    "api.create_token": rule(PUBLIC),
    "api.openapi_document": rule(PUBLIC),
    "api.list_tokens": rule(*EVERYONE),
    "api.delete_token": rule(*EVERYONE),
    "api.workflow_definitions": rule(*EVERYONE),
    "api.list_calls": rule(*EVERYONE),
    "api.get_call": rule(*EVERYONE),
    "api.get_rubric": rule(*EVERYONE),
    "api.create_call": rule(*ADMIN),
    "api.update_call": rule(*ADMIN),
    "api.put_rubric": rule(*ADMIN),
    "api.call_ranking": rule(*STAFF),
    "api.regenerate_documents": rule(*STAFF),
    "api.create_application": rule("applicant"),
    "api.list_applications": rule(*EVERYONE),
    "api.get_application": rule(*EVERYONE, owned=APPLICATION),
    "api.update_application": rule("applicant", owned=APPLICATION),
    "api.fire_transition": rule(*EVERYONE, owned=APPLICATION),
    "api.application_history": rule(*EVERYONE, owned=APPLICATION),
    "api.flag_sensitive": rule(*STAFF, owned=APPLICATION),
    "api.list_reviews": rule("reviewer", *STAFF, owned=APPLICATION),
    "api.assign_review": rule(*STAFF, owned=APPLICATION),
    "api.fire_review": rule(*EVERYONE, owned=APPLICATION),
    "api.replace_review": rule(*STAFF, owned=APPLICATION),
    "api.suggest_reviewers": rule(*STAFF, owned=APPLICATION),
    "api.bulk_assign_suggested": rule(*STAFF),
    "api.list_milestones": rule(*EVERYONE, owned=APPLICATION),
    "api.fire_milestone": rule(*EVERYONE, owned=APPLICATION),
    "api.get_agreement": rule(*EVERYONE, owned=APPLICATION),
    "api.list_changes": rule(*EVERYONE, owned=APPLICATION),
    "api.request_change": rule("applicant", owned=APPLICATION),
    "api.decide_change": rule(*EVERYONE, owned=APPLICATION),
    "api.list_attachments": rule(*EVERYONE, owned=APPLICATION),
    "api.upload_attachment": rule("applicant", owned=APPLICATION),
    "api.download_attachment": rule(*EVERYONE, owned=APPLICATION),
    "api.list_documents": rule(*EVERYONE, owned=APPLICATION),
    "api.download_document": rule("applicant", *STAFF),  # the applicant institution's, or any for the fund
    "api.list_notices": rule(*EVERYONE),
    "api.read_notice": rule(*EVERYONE),
    "api.list_reviewers": rule(*STAFF),
    "api.get_reviewer": rule(*STAFF),
    "api.create_reviewer": rule(*STAFF),
    "api.update_reviewer": rule(*STAFF),
    "api.import_reviewers": rule(*STAFF),
    "api.list_bodies": rule(*EVERYONE),  # ?include_retired=1: admins only (api/common.include_retired)
    "api.list_bases": rule(*EVERYONE),
    "api.list_institutions": rule(*EVERYONE),
    "api.get_statistics": rule("recommender", *STAFF),  # a recommending body counts its own applications
    "api.get_bases": rule(*STAFF),
    "api.get_country": rule(*STAFF),
    "api.get_country_report": rule(*STAFF),
    "api.list_jobs": rule(*ADMIN),
    "api.retry_job": rule(*ADMIN),
    "api.get_job": rule(*STAFF, owned=STARTED_BY),  # admins read every job
    "api.list_users": rule(*ADMIN),
    "api.create_user": rule(*ADMIN),
    "api.update_user": rule(*ADMIN),
    "api.create_institution": rule(*ADMIN),
    "api.update_institution": rule(*ADMIN),
    "api.create_body": rule(*ADMIN),
    "api.update_body": rule(*ADMIN),
    "api.create_base": rule(*ADMIN),
    "api.update_base": rule(*ADMIN),
    "api.audit_events": rule(*ADMIN),
    "api.audit_verify": rule(*ADMIN),
    # --- the pages (a stranger is sent to sign in) -------------------------------------------------
    "static": rule(PUBLIC),
    "bootstrap.static": rule(PUBLIC),
    "health.healthz": rule(PUBLIC),
    "health.readyz": rule(PUBLIC),
    "auth.login": rule(PUBLIC),
    "auth.language": rule(PUBLIC),
    "auth.logout": rule(*EVERYONE),
    "auth.password": rule(*EVERYONE),
    "dashboard.index": rule(PUBLIC),  # sends each to their dashboard, or to sign in
    "dashboard.home": rule(*EVERYONE),
    "dashboard.inbox": rule(*EVERYONE),
    "dashboard.read_notice": rule(*EVERYONE),
    "dashboard.officer": rule(*STAFF, refusal=DASHBOARD),
    "dashboard.bulk_assign": rule(*STAFF),
    "dashboard.bulk_regenerate": rule(*STAFF),
    "dashboard.job": rule(*STAFF, owned=STARTED_BY),
    "dashboard.job_status": rule(*STAFF, owned=STARTED_BY),
    "public.calls": rule(PUBLIC),
    "public.call": rule(PUBLIC),
    "public.projects": rule(PUBLIC),
    "public.project": rule(PUBLIC),  # completed projects only; the service says 404 to the rest
    "public.verify": rule(PUBLIC),
    "applications.index": rule(*EVERYONE),
    "applications.new": rule("applicant"),
    "applications.queue": rule("recommender"),
    "applications.detail": rule(*EVERYONE, owned=APPLICATION),
    "applications.edit": rule("applicant", owned=APPLICATION),
    "applications.fire": rule(*EVERYONE, owned=APPLICATION),
    "applications.upload": rule(*EVERYONE, owned=APPLICATION),  # the page says who may, at the form
    "applications.attachment": rule(*EVERYONE, owned=APPLICATION),
    "applications.flag_sensitive": rule(*STAFF, owned=APPLICATION),
    "applications.document": rule(*EVERYONE),  # the service: the applicant institution's and the fund's
    "awards.agreement": rule("applicant", owned=APPLICATION),
    "awards.closeout": rule("applicant", owned=APPLICATION),
    "awards.change_new": rule("applicant", owned=APPLICATION),
    "awards.change": rule(*EVERYONE, owned=APPLICATION),
    "awards.change_fire": rule(*EVERYONE, owned=APPLICATION),
    "awards.milestone": rule(*EVERYONE, owned=APPLICATION),
    "awards.milestone_fire": rule(*EVERYONE, owned=APPLICATION),
    "reviews.assignments": rule("reviewer"),
    "reviews.review": rule("reviewer"),  # the service: a colleague's review does not exist (404)
    "reviews.fire": rule("reviewer"),
    "reviews.assign": rule(*STAFF),
    "reviews.ranking": rule(*STAFF),
    "reviews.ranking_csv": rule(*STAFF),
    "reviews.ranking_pdf": rule(*STAFF),
    "reviews.rubric": rule(*STAFF),
    "pool.index": rule(*STAFF),
    "pool.expert": rule(*STAFF),
    "pool.new": rule(*STAFF),
    "pool.edit": rule(*STAFF),
    "pool.import_csv": rule(*STAFF),
    "pool.bulk_assign": rule(*STAFF),
    "pool.assign": rule(*STAFF),
    "pool.assign_chosen": rule(*STAFF),
    "pool.replace": rule(*STAFF),
    "statistics.index": rule("recommender", *STAFF, refusal=STATISTICS),
    "statistics.chart": rule("recommender", *STAFF, refusal=STATISTICS),
    "statistics.bases": rule(*STAFF, refusal=STATISTICS),
    "statistics.country_report": rule(*STAFF, refusal=STATISTICS),
    "audit.events": rule(*ADMIN),
    "audit.export": rule(*ADMIN),
    "audit.verify": rule(*ADMIN),
    "admin.users": rule(*ADMIN),
    "admin.user": rule(*ADMIN),
    "admin.institutions": rule(*ADMIN),
    "admin.institution": rule(*ADMIN),
    "admin.institution_retirement": rule(*ADMIN),
    "admin.bodies": rule(*ADMIN),
    "admin.body": rule(*ADMIN),
    "admin.body_retirement": rule(*ADMIN),
    "admin.calls": rule(*ADMIN),
    "admin.call": rule(*ADMIN),
    "admin.bases": rule(*ADMIN),
    "admin.base": rule(*ADMIN),
    "admin.base_retirement": rule(*ADMIN),
    "admin.jobs": rule(*ADMIN),
    "admin.retry_job": rule(*ADMIN),
}

UNLISTED = rule(*ADMIN)  # a route nobody declared: refused to all but admins until it is


def route_rule(endpoint: str | None) -> Rule:
    return ROUTES.get(endpoint or "", UNLISTED)


__all__ = ["PUBLIC", "APPLICATION", "STARTED_BY", "Rule", "ROUTES", "OWNERSHIP", "route_rule"]

"""Conflicts of interest between an expert and an application, enforced (DESIGN §2, issue 8).

An expert is refused for an application when they are

- of the applicant institution;
- of a consortium partner: linked to the registry by id (`Partner.institution_id`), or, for a partner
  not linked, whose name reads as the expert's institution's Chinese or English name once both are
  normalised (NFKC, spaces and invisible characters removed, case and traditional script folded);
- where the fund sets a cooling-off period (`REVIEW_COOLING_OFF_YEARS`), one who submitted a review
  of an application of the applicant institution within it;
- one who declared a conflict with the applicant institution, or with an institution among the
  partners, within three years;
- one who declared a conflict with this application (at any time).

`conflict_of` answers for one expert; `conflicted_institutions` and `conflicted_reviewers` give the
same answer as sets, so suggestions over a large pool stay a few set-based queries.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Iterable

from flask import current_app
from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from ..errors import N_, GuardFailed
from ..models import Application, ConflictDeclaration, Event, Institution, Partner, Review, User, utcnow

LOOKBACK = dt.timedelta(days=3 * 365 + 1)  # "within the last three years", leap day included

# The rules, their English sentence (a catalogue message the pages translate) and its parameters.
APPLICANT = "applicant_institution"
PARTNER = "consortium_partner"
REVIEWED = "reviewed_institution"
DECLARED_INSTITUTION = "declared_institution"
DECLARED_APPLICATION = "declared_application"
TEMPLATES = {
    APPLICANT: N_("the reviewer belongs to the applicant institution %(institution)s"),
    PARTNER: N_("the reviewer belongs to a consortium partner: %(partner)s (%(institution)s)"),
    REVIEWED: N_("the reviewer reviewed an application of %(institution)s within the fund's cooling-off period"),
    DECLARED_INSTITUTION: N_("the reviewer declared a conflict of interest with %(institution)s "
                             "within the last three years"),
    DECLARED_APPLICATION: N_("the reviewer declared a conflict of interest with this application"),
}


@dataclass(frozen=True)
class Conflict:
    """Why one expert may not review one application: the rule and what it matched."""

    rule: str
    params: dict[str, Any] = field(default_factory=dict)  # values: text, or a (中文, English) pair

    @property
    def template(self) -> str:
        return TEMPLATES[self.rule]

    @property
    def message(self) -> str:
        """The English sentence, as the API says it."""
        return self.template % {k: v[1] if isinstance(v, tuple) else v for k, v in self.params.items()}

    def refusal(self) -> GuardFailed:
        return GuardFailed(self.message, {"reviewer_id": [self.message], "rule": self.rule},
                           template=self.template, params=self.params)


# --- names ------------------------------------------------------------------------------------------


@cache
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


def normalise_name(text: str | None) -> str:
    """A name as matching sees it: NFKC, no spaces or invisible characters, case folded, simplified script."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    kept = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs",
                                                                                              "Zl", "Zp"))
    return _to_simplified().convert(kept.casefold())


def _pair(inst: Institution | None) -> tuple[str, str]:
    if inst is None:
        return ("—", "—")
    return (inst.name, inst.name_en or inst.name)


class _Index:
    """Every registry institution by its normalised Chinese and English names; built once per registry size."""

    def __init__(self, rows: Iterable[tuple[int, str, str | None]]):
        self.by_name: dict[str, set[int]] = {}
        for inst_id, name, name_en in rows:
            for n in {normalise_name(name), normalise_name(name_en)} - {""}:
                self.by_name.setdefault(n, set()).add(inst_id)

    def matches(self, name: str) -> set[int]:
        return self.by_name.get(normalise_name(name), set())


_index_cache: dict[tuple, _Index] = {}


def _index(s: Session) -> _Index:
    # Institutions are never deleted; each change of one through services.registry (a rename, retiring
    # it) is an event of subject "institutions". So their count, the newest id and how many such events
    # there are (events are only ever appended) tell whether the index is still the registry's. A retired
    # institution stays in it: its experts still conflict with its applications and with the consortia
    # it is a partner of. Counted, not max(id): PostgreSQL answers that max by walking the whole chain
    # back from its newest event (0.15 to 1 s at 20,000 applications here), the count from the subject's index.
    changed = select(func.count()).select_from(Event).where(Event.subject == "institutions").scalar_subquery()
    key = (str(s.get_bind().url),
           *s.execute(select(func.count(Institution.id), func.max(Institution.id), changed)).one())
    index = _index_cache.get(key)
    if index is None:
        index = _Index(s.execute(select(Institution.id, Institution.name, Institution.name_en)).all())
        _index_cache.clear()
        _index_cache[key] = index
    return index


def registry_match(s: Session, name: str) -> int | None:
    """The one registry institution `name` reads as (Chinese or English name, normalised), or None."""
    found = _index(s).matches(name)
    return next(iter(found)) if len(found) == 1 else None


def link_partners(s: Session, partners: Iterable[Partner]) -> None:
    """Link each partner to the registry institution its name reads as, unless already linked."""
    for p in partners:
        if p.institution_id is None:
            p.institution_id = registry_match(s, p.name)


def partner_institutions(s: Session, app: Application) -> dict[int, Partner]:
    """{registry institution id: the partner that is it}: linked by id, or read from the name."""
    index = _index(s)
    out: dict[int, Partner] = {}
    for p in app.partners:
        ids = {p.institution_id} if p.institution_id is not None else index.matches(p.name)
        for inst_id in ids:
            out.setdefault(inst_id, p)
    return out


# --- the rules --------------------------------------------------------------------------------------


def conflicted_institutions(s: Session, app: Application) -> dict[int, Conflict]:
    """Institutions none of whose experts may review `app`, each with the rule that bars them."""
    out: dict[int, Conflict] = {}
    for inst_id, partner in partner_institutions(s, app).items():
        out[inst_id] = Conflict(PARTNER, {"partner": partner.name, "institution": _pair(s.get(Institution, inst_id))})
    out[app.institution_id] = Conflict(APPLICANT, {"institution": _pair(app.institution)})
    return out


def _cooling_off_since(now: dt.datetime | None) -> dt.datetime | None:
    years = current_app.config.get("REVIEW_COOLING_OFF_YEARS", 0)
    return (now or utcnow()) - dt.timedelta(days=365 * years + years // 4) if years else None


# Each rule reads the history up to `now`: asked about a past moment (the generator dates its
# assignments in the ten years it builds), a review or a declaration made after it does not count.


def _reviewed_query(app: Application, since: dt.datetime, now: dt.datetime | None):
    return (select(Review.reviewer_id)
            .join(Application, Application.id == Review.application_id)
            .where(Application.institution_id == app.institution_id, Application.id != app.id,
                   Review.state == "submitted", Review.submitted_at >= since,
                   *([Review.submitted_at <= now] if now is not None else [])))


def _declared_query(app: Application, institution_ids: Iterable[int], since: dt.datetime,
                    now: dt.datetime | None):
    return select(ConflictDeclaration.reviewer_id, ConflictDeclaration.institution_id,
                  ConflictDeclaration.application_id).where(
        (ConflictDeclaration.application_id == app.id)
        | (ConflictDeclaration.institution_id.in_(list(institution_ids))
           & (ConflictDeclaration.declared_at >= since)),
        *([ConflictDeclaration.declared_at <= now] if now is not None else []))


def conflicted_reviewers_query(s: Session, app: Application, now: dt.datetime | None = None,
                               institutions: Iterable[int] | None = None):
    """A SELECT of the ids of experts barred from `app` by their own history (reviews, declarations).

    `institutions`: those of conflicted_institutions(s, app), when the caller has them already."""
    since = (now or utcnow()) - LOOKBACK
    barred = list(conflicted_institutions(s, app) if institutions is None else institutions)
    declared = _declared_query(app, barred, since, now).with_only_columns(ConflictDeclaration.reviewer_id)
    cooling_off = _cooling_off_since(now)
    return union(_reviewed_query(app, cooling_off, now), declared) if cooling_off else declared


def conflict_of(s: Session, reviewer: User, app: Application, now: dt.datetime | None = None,
                institutions: dict[int, Conflict] | None = None) -> Conflict | None:
    """Why `reviewer` may not review `app`, or None.

    `institutions`: conflicted_institutions(s, app), when the caller seats several on one panel."""
    if institutions is None:
        institutions = conflicted_institutions(s, app)
    if reviewer.institution_id in institutions:
        return institutions[reviewer.institution_id]
    since = (now or utcnow()) - LOOKBACK
    declarations = s.execute(_declared_query(app, institutions, since, now)
                             .where(ConflictDeclaration.reviewer_id == reviewer.id)).all()
    for row in declarations:
        if row.application_id == app.id:
            return Conflict(DECLARED_APPLICATION)
    for row in declarations:
        if row.institution_id is not None:
            return Conflict(DECLARED_INSTITUTION, {"institution": _pair(s.get(Institution, row.institution_id))})
    cooling_off = _cooling_off_since(now)
    if cooling_off and s.scalar(_reviewed_query(app, cooling_off, now).where(Review.reviewer_id == reviewer.id)
                                .limit(1)) is not None:
        return Conflict(REVIEWED, {"institution": _pair(app.institution)})
    return None


def conflicts_among(s: Session, reviewers: Iterable[User], app: Application) -> dict[int, Conflict]:
    """{expert id: conflict} for those of `reviewers` barred from `app`, in a handful of queries."""
    reviewers = list(reviewers)
    institutions = conflicted_institutions(s, app)
    out = {r.id: institutions[r.institution_id] for r in reviewers if r.institution_id in institutions}
    rest = [r.id for r in reviewers if r.id not in out]
    if not rest:
        return out
    barred = set(s.scalars(select(conflicted_reviewers_query(s, app, institutions=institutions).subquery().c[0])))
    for user in reviewers:
        if user.id in barred and user.id not in out:
            out[user.id] = conflict_of(s, user, app)  # the few barred: say by which rule
    return {k: v for k, v in out.items() if v is not None}

"""The reviewer pool (全球高端科技人才信息数据库): experts, their load and history, suggestions, replacements.

An expert is a user of the reviewer role with an ExpertProfile: fields of expertise, country,
languages, title, and whether they are active in the pool. Their institution is the user's registry
institution. Load is their open assignments (every non-final state of the review workflows); history
is what they submitted, declined, and let run late.

Suggestions and the pool list are a few set-based queries whatever the size of the pool.
"""
from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import itertools
import secrets
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, NamedTuple, Sequence

from flask import current_app
from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from .. import audit, db, outbox
from ..documents import BEIJING
from ..engine import registry as definitions
from ..errors import N_, InvalidInput, NotFound, NotPermitted, TransitionRefused
from ..models import FIELDS, LANGUAGES, Application, ExpertProfile, Institution, Review, User, utcnow
from ..permissions import Actor
from . import conflicts, registry
from .applications import add_review, default_due_date, visible_in

PROFILE_FIELDS = ("fields", "country", "languages", "title", "active")
MAX_IMPORT_ROWS = 5000
RETIRED_INSTITUTION = registry.RETIRED_AT_FIELD[Institution]
CSV_COLUMNS = ("email", "name", "institution", "fields", "country", "languages", "title", "active")


def open_review_states() -> tuple[str, ...]:
    """Every state of any review workflow version that is not final: an assignment still open."""
    names = {s.name for (name, _v), wf in definitions().items() if name == "review"
             for s in wf.states.values() if not s.final}
    return tuple(sorted(names))


def _today() -> dt.date:
    return utcnow().astimezone(BEIJING).date()


def _officer(actor: Actor) -> None:
    if not actor.acts_as_officer:
        raise NotPermitted("only program officers and administrators manage the reviewer pool")


# --- load and history, as one grouped query over the experts asked about ---------------------------


def _numbers(s: Session, reviewer_ids: Sequence[int], today: dt.date) -> dict[int, tuple[int, int, int, int]]:
    """{reviewer id: (open load, submitted, declined, late)} for the given experts: their reviews only."""
    if not reviewer_ids:
        return {}
    open_ = Review.state.in_(open_review_states())
    late = or_(and_(Review.state == "submitted", func.date(Review.submitted_at) > Review.due_date),
               and_(open_, Review.due_date < today))
    rows = s.execute(select(Review.reviewer_id,
                            func.count(case((open_, 1))),
                            func.count(case((Review.state == "submitted", 1))),
                            func.count(case((Review.state == "declined", 1))),
                            func.count(case((late, 1))))
                     .where(Review.reviewer_id.in_(list(reviewer_ids))).group_by(Review.reviewer_id))
    return {reviewer_id: tuple(numbers) for reviewer_id, *numbers in rows}


def _has(column, code: str):
    """A JSON list column holds the code (codes are plain words, so their quoted form is unambiguous)."""
    return cast(column, String).like(f'%"{code}"%')


@dataclass(frozen=True)
class Expert:
    """One expert of the pool with their numbers."""

    user: User
    profile: ExpertProfile | None
    load: int = 0
    submitted: int = 0
    declined: int = 0
    late: int = 0

    @property
    def in_pool(self) -> bool:
        return self.user.active and (self.profile is None or self.profile.active)

    @property
    def fields(self) -> list[str]:
        return list(self.profile.fields or []) if self.profile else []

    @property
    def country(self) -> str:
        return self.profile.country if self.profile else "CN"

    @property
    def languages(self) -> list[str]:
        return list(self.profile.languages or []) if self.profile else []


def list_experts(actor: Actor, *, field: str | None = None, country: str | None = None,
                 language: str | None = None, active: bool | None = None, institution_id: int | None = None,
                 q: str | None = None, page: int = 1, per_page: int = 50) -> tuple[list[Expert], int]:
    """The pool narrowed by the filters: one page of experts with their load and history, and the total."""
    _officer(actor)
    s = db.session()
    query = (select(User, ExpertProfile).outerjoin(ExpertProfile, ExpertProfile.user_id == User.id)
             .where(User.role == "reviewer"))
    if field:
        query = query.where(_has(ExpertProfile.fields, field))
    if language:
        query = query.where(_has(ExpertProfile.languages, language))
    if country:
        query = query.where(func.coalesce(ExpertProfile.country, "CN") == country)
    if institution_id:
        query = query.where(User.institution_id == institution_id)
    if active is not None:
        in_pool = and_(User.active.is_(True), func.coalesce(ExpertProfile.active, True).is_(True))
        query = query.where(in_pool if active else ~in_pool)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(User.name.like(like), User.email.like(like)))
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    rows = s.execute(query.options(selectinload(User.institution)).order_by(User.id)
                     .limit(per_page).offset((page - 1) * per_page)).all()
    # The numbers of this page's experts only: counting every review of the pool to show 50 is what
    # made the pool's page grow with the fund's history.
    numbers = _numbers(s, [u.id for u, _p in rows], _today())
    return [Expert(u, p, *numbers.get(u.id, (0, 0, 0, 0))) for u, p in rows], total


def get_expert(actor: Actor, user_id: int) -> tuple[Expert, list[Review]]:
    """One expert with their numbers, and their assignments, newest first."""
    _officer(actor)
    s = db.session()
    user = s.get(User, user_id)
    if user is None or user.role != "reviewer":
        raise NotFound(f"expert {user_id} not found")
    numbers = _numbers(s, [user_id], _today()).get(user_id, (0, 0, 0, 0))
    reviews = list(s.scalars(select(Review).where(Review.reviewer_id == user_id)
                             .options(selectinload(Review.application)).order_by(Review.id.desc())))
    return Expert(user, s.get(ExpertProfile, user_id), *numbers), reviews


# --- creating, editing, importing ----------------------------------------------------------------


def _institution(s: Session, value: Any, line: str = "institution_id",
                 keeping: int | None = None) -> tuple[int | None, dict]:
    """A registry institution given by id or by name (read as conflicts read names): (id, problems).

    A retired institution takes no new experts; one an expert already belongs to (`keeping`) stays."""
    if value in (None, ""):
        return None, {}
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        inst = s.get(Institution, int(value))
        found = inst.id if inst is not None else None
    else:
        found = conflicts.registry_match(s, str(value))
        inst = s.get(Institution, found) if found is not None else None
    if inst is None:
        return None, {line: ["no such institution in the registry"]}
    if inst.retired and inst.id != keeping:
        return None, {line: [RETIRED_INSTITUTION]}
    return found, {}


def _new_expert(s: Session, actor: Actor, data: dict[str, Any], now: dt.datetime, trigger: str,
                extra: dict | None = None) -> User:
    password = data.get("password") or secrets.token_urlsafe(18)  # none given: set later by an admin
    user = User(email=data["email"].strip().lower(), name=data.get("name") or "", role="reviewer",
                password_hash=generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"]),
                institution_id=data.get("institution_id"), created_at=now)
    s.add(user)
    s.flush()
    profile = ExpertProfile(user_id=user.id, created_at=now, updated_at=now,
                            **{k: data[k] for k in PROFILE_FIELDS if k in data})
    profile.country = profile.country or "CN"
    profile.active = True if profile.active is None else profile.active
    s.add(profile)
    s.flush()
    audit.record(s, application_id=None, subject="expert", subject_id=user.id, trigger=trigger, from_state=None,
                 to_state=None, actor_id=actor.id, role=actor.role, created_at=now, comment=None,
                 data={"email": user.email, "institution_id": user.institution_id, **_profile_data(profile),
                       **(extra or {})})
    return user


def _profile_data(profile: ExpertProfile) -> dict[str, Any]:
    return {k: getattr(profile, k) for k in PROFILE_FIELDS}


def create_expert(actor: Actor, data: dict[str, Any]) -> User:
    """Add an expert to the pool: a reviewer account and their profile, in one transaction."""
    _officer(actor)
    now = utcnow()
    with db.write_session() as s:
        _check_new(s, data)
        user = _new_expert(s, actor, data, now, "create")
        audit.seal(s)
    return user


def _check_new(s: Session, data: dict[str, Any]) -> None:
    problems: dict[str, list[str]] = {}
    if s.scalar(select(User.id).where(User.email == data["email"].strip().lower())):
        problems["email"] = ["already registered"]
    if data.get("institution_id") is not None:
        _, found = _institution(s, data["institution_id"])
        problems.update(found)
    if problems:
        raise InvalidInput("the expert cannot be added", problems)


def update_expert(actor: Actor, user_id: int, changes: dict[str, Any]) -> User:
    """Change an expert's profile, name or institution; recorded with what changed."""
    _officer(actor)
    now = utcnow()
    with db.write_session() as s:
        user = s.get(User, user_id)
        if user is None or user.role != "reviewer":
            raise NotFound(f"expert {user_id} not found")
        if "institution_id" in changes and changes["institution_id"] is not None:
            _, problems = _institution(s, changes["institution_id"], keeping=user.institution_id)
            if problems:
                raise InvalidInput("the expert cannot be changed", problems)
        profile = s.get(ExpertProfile, user_id) or ExpertProfile(user_id=user_id, fields=[], languages=[],
                                                                 country="CN", active=True, created_at=now)
        s.add(profile)
        before = {"name": user.name, "institution_id": user.institution_id, **_profile_data(profile)}
        for key in ("name", "institution_id"):
            if key in changes:
                setattr(user, key, changes[key])
        for key in PROFILE_FIELDS:
            if key in changes:
                setattr(profile, key, changes[key])
        profile.updated_at = now
        after = {"name": user.name, "institution_id": user.institution_id, **_profile_data(profile)}
        changed = {k: after[k] for k in after if after[k] != before[k]}
        if changed:
            audit.record(s, application_id=None, subject="expert", subject_id=user.id, trigger="edit",
                         from_state=None, to_state=None, actor_id=actor.id, role=actor.role, created_at=now,
                         comment=None, data=changed)
            audit.seal(s)
    return user


class ImportRefused(InvalidInput):
    """A CSV with bad rows: nothing imported; `details` is {"rows": [{line, field, message}]}."""


def parse_csv(stream: IO[bytes]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of an uploaded CSV (UTF-8, a BOM allowed, a header line)."""
    raw = stream.read(4 * 1024 * 1024 + 1)
    if len(raw) > 4 * 1024 * 1024:
        raise InvalidInput("the CSV file is larger than 4 MB", {"file": ["at most 4 MB"]})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV file is not UTF-8 text", {"file": ["save it as UTF-8 CSV"]}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("email", "institution") if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        why = [f"missing column {c}" for c in missing] + [f"unknown column {c}" for c in unknown]
        raise InvalidInput("the CSV header is not right", {"file": why})
    reader.fieldnames = header
    rows = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}))
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"at most {MAX_IMPORT_ROWS} experts in one file", {"file": ["too many rows"]})
    if not rows:
        raise InvalidInput("the CSV file has no experts in it", {"file": ["no rows"]})
    return rows


def _codes(text: str, allowed: Sequence[str]) -> tuple[list[str], list[str]]:
    items = [c.strip() for c in text.replace("；", ";").replace(",", ";").split(";") if c.strip()]
    return list(dict.fromkeys(items)), [c for c in items if c not in allowed]


def _row(s: Session, line: int, row: dict[str, str], seen: set[str]) -> tuple[dict[str, Any], list[dict]]:
    """One CSV row as create_expert's data, and its problems as {line, field, message}."""
    from ..countries import COUNTRY_CODES

    bad: list[dict] = []

    def problem(field: str, message: str) -> None:
        bad.append({"line": line, "field": field, "message": message})

    email = row.get("email", "").lower()
    if "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email):
        problem("email", "not an e-mail address")
    elif email in seen:
        problem("email", "appears twice in the file")
    elif s.scalar(select(User.id).where(User.email == email)):
        problem("email", "already registered")
    seen.add(email)
    inst_id, found = _institution(s, row.get("institution", ""), "institution")
    if not row.get("institution"):
        problem("institution", "required")
    for message in found.get("institution", []):
        problem("institution", message)
    fields_, unknown = _codes(row.get("fields", ""), FIELDS)
    if unknown:
        problem("fields", f"unknown field codes: {', '.join(unknown)}")
    if not fields_:
        problem("fields", "at least one field of expertise")
    languages, unknown = _codes(row.get("languages", ""), LANGUAGES)
    if unknown:
        problem("languages", f"unknown language codes: {', '.join(unknown)}")
    country = (row.get("country") or "CN").upper()
    if country not in COUNTRY_CODES:
        problem("country", "not an ISO 3166 country code")
    active_text = (row.get("active") or "yes").lower()
    if active_text not in ("yes", "no", "true", "false", "1", "0", "是", "否"):
        problem("active", "yes or no")
    name, title = row.get("name", ""), row.get("title", "")
    if len(name) > 200:
        problem("name", "at most 200 characters")
    if len(title) > 200:
        problem("title", "at most 200 characters")
    data = {"email": email, "name": name, "institution_id": inst_id, "fields": fields_, "country": country,
            "languages": languages, "title": title or None,
            "active": active_text in ("yes", "true", "1", "是")}
    return data, bad


def import_experts(actor: Actor, stream: IO[bytes]) -> list[User]:
    """Add every expert of a CSV file, or none: any bad row refuses the whole file, naming each bad row."""
    _officer(actor)
    rows = parse_csv(stream)
    now = utcnow()
    with db.write_session() as s:
        seen: set[str] = set()
        checked = [(line, *_row(s, line, row, seen)) for line, row in rows]
        bad = [b for _line, _data, problems in checked for b in problems]
        if bad:
            lines = sorted({b["line"] for b in bad})
            raise ImportRefused(f"{len(lines)} of {len(rows)} rows are not valid; nothing was imported",
                                {"rows": bad},
                                template=N_("%(bad)s of %(total)s rows are not valid; nothing was imported."),
                                params={"bad": len(lines), "total": len(rows)})
        users = [_new_expert(s, actor, data, now, "import", {"line": line}) for line, data, _ in checked]
        audit.seal(s)
    return users


# --- suggestions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    reviewer_id: int
    name: str
    institution_id: int | None
    country: str
    field_match: bool
    load: int


def suggest(actor: Actor, app_id: int, n: int = 3) -> list[Suggestion]:
    """The `n` best conflict-free experts active in the pool for one application (services.pool.suggestions)."""
    _officer(actor)
    s = db.session()
    return suggestions(s, visible_in(s, actor, app_id), n)


def _open_load():
    """Each expert's open assignments, as a subquery (reviewer_id, load)."""
    return select(Review.reviewer_id, func.count().label("load")) \
        .where(Review.state.in_(open_review_states())).group_by(Review.reviewer_id).subquery()


def _open_load_beside():
    """An expert's open assignments, counted beside each expert row over the (state, reviewer) index.

    For the Ranking's one read of the whole pool. Joined as the grouped subquery (as suggestions()
    join it), PostgreSQL with statistics older than the pool (this server runs without autovacuum)
    planned a nested loop that grouped every open review again for each expert: suggestions took
    2.8 s at 10,000 experts and 900 open reviews. Counted per row the plan cannot go that way.
    suggestions(), run per request, keep the join, which a planner that knows the tables answers
    faster (one hash join, not 10,000 lookups: 34 against 125 ms here).
    """
    return (select(func.count()).select_from(Review)
            .where(Review.reviewer_id == User.id, Review.state.in_(open_review_states()))
            .correlate(User).scalar_subquery())


def _in_pool():
    """An active reviewer account whose pool entry, if any, is active (with ExpertProfile outer-joined)."""
    return (User.role == "reviewer", User.active.is_(True), func.coalesce(ExpertProfile.active, True).is_(True))


def _first(n: int) -> int:
    """How many of the best candidates are read for `n` picks (see suggestions)."""
    return max(200, 20 * n)


def suggestions(s: Session, app: Application, n: int = 3, exclude: Sequence[int] = (),
                institutions: Iterable[int] | None = None) -> list[Suggestion]:
    """Conflict-free experts active in the pool and not on the panel: field match first, then the lightest
    load, then spread: no two from one institution while others remain, a new country preferred.

    `institutions`: those of conflicts.conflicted_institutions(s, app), when the caller has them."""
    if n <= 0:
        return []
    open_ = _open_load()
    load = func.coalesce(open_.c.load, 0)
    eligible = _eligible(s, app, open_, exclude, institutions)
    if app.field:
        # The experts of the field alone, first: when they hold n institutions (nearly always), the spread
        # picks among them only, since a new institution outranks everything and a match outranks load.
        # Then the answer is the whole pool's, for a scan of a field's experts, not of the pool.
        matched = s.execute(eligible.add_columns(literal(0).label("unmatched"), load.label("load"))
                            .where(_has(ExpertProfile.fields, app.field))
                            .order_by(load, User.id).limit(_first(n))).all()
        if len({r.institution_id for r in matched}) >= n:
            return _spread(matched, n)
    match_rank = case((_has(ExpertProfile.fields, app.field), 0), else_=1) if app.field else literal(1)
    order = [match_rank, load, User.id] if app.field else [load, User.id]
    eligible = eligible.add_columns(match_rank.label("unmatched"), load.label("load"))
    # The best few hundred by field and load nearly always hold n institutions; when they do not
    # (a pool of few institutions), the best `n` of every institution are read instead.
    rows = s.execute(eligible.order_by(*order).limit(_first(n))).all()
    if len({r.institution_id for r in rows}) < n and len(rows) >= _first(n):
        per_institution = func.row_number().over(partition_by=User.institution_id, order_by=order)
        ranked = eligible.add_columns(per_institution.label("within")).subquery()
        rows = s.execute(select(ranked).where(ranked.c.within <= n)
                         .order_by(ranked.c.within, ranked.c.unmatched, ranked.c.load, ranked.c.id)
                         .limit(_first(n) * 5)).all()
    return _spread(rows, n)


def _eligible(s: Session, app: Application, open_, exclude: Sequence[int], institutions: Iterable[int] | None):
    """The experts who may be suggested for `app` (id, name, email, institution, country), its load joined."""
    barred_institutions = list(conflicts.conflicted_institutions(s, app) if institutions is None else institutions)
    on_panel = select(Review.reviewer_id).where(Review.application_id == app.id)
    return (select(User.id, User.name, User.email, User.institution_id,
                   func.coalesce(ExpertProfile.country, "CN").label("country"))
            .outerjoin(ExpertProfile, ExpertProfile.user_id == User.id)
            .outerjoin(open_, open_.c.reviewer_id == User.id)
            .where(*_in_pool(),
                   or_(User.institution_id.is_(None), User.institution_id.not_in(barred_institutions)),
                   User.id.not_in(on_panel),
                   User.id.not_in(conflicts.conflicted_reviewers_query(s, app, institutions=barred_institutions)),
                   *([User.id.not_in(list(exclude))] if exclude else [])))


@dataclass
class _Candidate:
    """One expert of the pool as a Ranking holds them."""

    id: int
    name: str | None
    email: str
    institution_id: int | None
    country: str
    fields: frozenset[str]
    load: int


class _Row(NamedTuple):
    """A candidate as suggestions() reads them from the database, for one application."""

    id: int
    name: str | None
    email: str
    institution_id: int | None
    country: str
    unmatched: int
    load: int


class Ranking:
    """The active pool in suggestions' order, read once, for a job that fills many panels.

    suggestions() reads every expert of the pool for each application it is asked about (at 10,000
    experts, a scan and sort of 10,000 rows each time); a job filling 2,000 panels spent most of its
    time there. A Ranking reads the pool once, keeps it ordered by (load, id), overall and per field of
    expertise, and raises an expert's load when the job seats them, so one application's picks are a walk
    over the first few hundred experts of its field. Its answer is suggestions()'s for the same pool (the
    tests hold it to that). What it cannot see, an expert retired or loaded by someone else meanwhile,
    stays safe: add_review refuses the retired and the conflicted, and a load seen late only shifts the spread.
    """

    def __init__(self, s: Session):
        rows = s.execute(select(User.id, User.name, User.email, User.institution_id,
                                func.coalesce(ExpertProfile.country, "CN"), ExpertProfile.fields, _open_load_beside())
                         .outerjoin(ExpertProfile, ExpertProfile.user_id == User.id).where(*_in_pool()))
        self._experts = {row[0]: _Candidate(*row[:5], frozenset(row[5] or ()), row[6]) for row in rows}
        self._order = sorted((e.load, e.id) for e in self._experts.values())
        self._by_field: dict[str, list[tuple[int, int]]] = {}
        for key in self._order:
            for code in self._experts[key[1]].fields:
                self._by_field.setdefault(code, []).append(key)

    def seat(self, reviewer_id: int) -> None:
        """One more open assignment for this expert (committed by the caller)."""
        expert = self._experts.get(reviewer_id)
        if expert is None:
            return
        for order in (self._order, *(self._by_field[code] for code in expert.fields)):
            order.pop(bisect.bisect_left(order, (expert.load, expert.id)))
            bisect.insort(order, (expert.load + 1, expert.id))
        expert.load += 1

    def suggest(self, s: Session, app: Application, n: int = 3, exclude: Sequence[int] = (),
                institutions: Iterable[int] | None = None) -> list[Suggestion]:
        """What suggestions(s, app, n, exclude) answers, from the pool as read (and seated) since."""
        if n <= 0:
            return []
        institutions = set(conflicts.conflicted_institutions(s, app) if institutions is None else institutions)
        # Read, not app.reviews: an assignment this transaction just added is on the panel too.
        on_panel = s.scalars(select(Review.reviewer_id).where(Review.application_id == app.id))
        conflicted = s.scalars(select(conflicts.conflicted_reviewers_query(s, app, institutions=institutions)
                                      .subquery().c[0]))
        barred = {*on_panel, *conflicted, *exclude}

        def eligible(expert: _Candidate) -> bool:
            return expert.id not in barred and (expert.institution_id is None
                                                or expert.institution_id not in institutions)

        rows = list(itertools.islice(self._walk(app.field, eligible), _first(n)))
        if len({r.institution_id for r in rows}) < n and len(rows) >= _first(n):
            rows = self._best_of_each_institution(app.field, eligible, n)
        return _spread(rows, n)

    def _walk(self, field: str | None, eligible: Callable[[_Candidate], bool]) -> Iterator[_Row]:
        """The eligible experts in suggestions' order: those of the field by (load, id), then the rest so."""
        passes = ((True, self._by_field.get(field, [])), (False, self._order)) if field else ((False, self._order),)
        for matched, order in passes:
            for _load, expert_id in order:
                e = self._experts[expert_id]
                if (field in e.fields) is matched and eligible(e):
                    yield _Row(e.id, e.name, e.email, e.institution_id, e.country, 0 if matched else 1, e.load)

    def _best_of_each_institution(self, field: str | None, eligible: Callable[[_Candidate], bool],
                                  n: int) -> list[_Row]:
        """suggestions()'s fallback: the best `n` of every institution, the firsts before the seconds."""
        within: dict[int | None, int] = {}
        ranked = []
        for row in self._walk(field, eligible):
            within[row.institution_id] = within.get(row.institution_id, 0) + 1
            if within[row.institution_id] <= n:
                ranked.append((within[row.institution_id], row.unmatched, row.load, row.id, row))
        return [entry[-1] for entry in sorted(ranked, key=lambda e: e[:4])[:_first(n) * 5]]


# From this many applications in one action the pool is read whole once (0.3 s at 10,000 experts)
# rather than asked for each application (10 to 20 ms each).
RANK_FROM = 20


class _Asking:
    """suggestions() asked afresh for each application: for a few, cheaper than reading the whole pool."""

    def suggest(self, s: Session, app: Application, n: int = 3, exclude: Sequence[int] = (),
                institutions: Iterable[int] | None = None) -> list[Suggestion]:
        return suggestions(s, app, n, exclude, institutions)

    def seat(self, reviewer_id: int) -> None:
        """Nothing to keep: the next suggestions() reads the load the commit left."""


def ranking_for(s: Session, applications: int) -> Ranking | _Asking:
    """What an action on `applications` applications asks for its picks: a Ranking, or suggestions()."""
    return Ranking(s) if applications >= RANK_FROM else _Asking()


def _spread(rows, n: int) -> list[Suggestion]:
    """Pick `n` greedily: a new institution above all, then field match, load, a new country."""
    chosen: list = []
    institutions: set = set()
    countries: set = set()
    pool = list(rows)
    while pool and len(chosen) < n:
        best = min(pool, key=lambda r: (r.institution_id in institutions and r.institution_id is not None,
                                        r.unmatched, r.load, r.country in countries, r.id))
        pool.remove(best)
        chosen.append(best)
        institutions.add(best.institution_id)
        countries.add(best.country)
    return [Suggestion(r.id, r.name or r.email, r.institution_id, r.country, r.unmatched == 0, r.load)
            for r in chosen]


# --- replacing a declined or overdue assignment ------------------------------------------------


def replaceable(review: Review, today: dt.date | None = None) -> bool:
    """Declined, or still open past its due date; and not replaced yet (callers check the last)."""
    today = today or _today()
    return review.state == "declined" or (review.state in open_review_states()
                                          and review.due_date is not None and review.due_date < today)


def replace_reviewer(actor: Actor, review_id: int, reviewer_id: int | None = None,
                     due_date: dt.date | None = None, *, application_id: int | None = None) -> Review:
    """Assign another expert in place of a declined or overdue assignment; the officer is told in the inbox.

    Without `reviewer_id` the top suggestion is taken.
    """
    _officer(actor)
    now = utcnow()
    with db.write_session() as s:
        old = s.get(Review, review_id)
        if old is None or application_id not in (None, old.application_id):
            raise NotFound(f"review {review_id} not found")
        app = visible_in(s, actor, old.application_id)
        if not replaceable(old):
            raise TransitionRefused("only a declined or overdue assignment can be replaced",
                                    {"state": old.state, "review_id": ["neither declined nor overdue"]})
        if s.scalar(select(Review.id).where(Review.replaces_id == old.id)):
            raise TransitionRefused("this assignment has already been replaced",
                                    {"review_id": ["already replaced"]})
        if reviewer_id is None:
            top = suggestions(s, app, 1)
            if not top:
                raise InvalidInput("no conflict-free expert is left in the pool for this application",
                                   {"reviewer_id": ["no expert to suggest"]})
            reviewer_id = top[0].reviewer_id
        review = add_review(s, actor, app, reviewer_id, due_date or default_due_date(), now, replaces_id=old.id)
        audit.seal(s)
        follow_up = [outbox.stage(s, "notify_review_assigned", review_id=review.id),
                     outbox.stage(s, "notify_review_replaced", review_id=review.id)]
    outbox.hand_over(follow_up)
    return review


def replacements(app_id: int) -> dict[int, Review]:
    """{replaced review id: the review that replaced it} for one application."""
    rows = db.session().scalars(select(Review).where(Review.application_id == app_id,
                                                     Review.replaces_id.is_not(None)))
    return {r.replaces_id: r for r in rows}

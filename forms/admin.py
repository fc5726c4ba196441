"""Administration: users, institutions, recommending bodies, calls and bases."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from .fields import NoControlCharacters

MAX_YUAN = 10**13 - 1
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def _id_choice(field: SelectField):
    """The chosen row id of an optional select, or None."""
    return int(field.data) if field.data not in (None, "", "None") else None


def _name(label, n: int, required: bool = True):
    checks = [DataRequired(), Length(max=n)] if required else [Optional(), Length(max=n)]
    return StringField(label, validators=[*checks, NoControlCharacters()])


INSTITUTION_HELP = _l("Needed for applicants (and usual for reviewers).")
BODY_HELP = _l("Needed for recommenders.")
PASSWORD_HELP = _l("At least 10 characters; not your e-mail address, and not a commonly used password.")


class UserCreateForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), NoControlCharacters(),
                                               Regexp(EMAIL, message=_l("Not a valid e-mail address."))],
                       render_kw={"autocomplete": "off"})
    name = _name(_l("Name"), 200, required=False)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=1000)],
                             description=PASSWORD_HELP, render_kw={"autocomplete": "new-password"})
    role = SelectField(_l("Role"), validators=[InputRequired()])
    institution_id = SelectField(_l("Institution"), validators=[Optional()], description=INSTITUTION_HELP)
    body_id = SelectField(_l("Recommending body"), validators=[Optional()], description=BODY_HELP)
    submit = SubmitField(_l("Add the user"))

    def set_choices(self, roles, institutions, bodies) -> None:
        self.role.choices = roles
        self.institution_id.choices = [("", "—"), *institutions]
        self.body_id.choices = [("", "—"), *bodies]

    def data_for_service(self) -> dict:
        return {"email": self.email.data.strip(), "password": self.password.data, "role": self.role.data,
                "name": (self.name.data or "").strip(), "institution_id": _id_choice(self.institution_id),
                "body_id": _id_choice(self.body_id)}


class UserEditForm(FlaskForm):
    name = _name(_l("Name"), 200, required=False)
    role = SelectField(_l("Role"), validators=[InputRequired()])
    institution_id = SelectField(_l("Institution"), validators=[Optional()], description=INSTITUTION_HELP)
    body_id = SelectField(_l("Recommending body"), validators=[Optional()], description=BODY_HELP)
    active = BooleanField(_l("Active (may sign in)"),
                          description=_l("Clearing this ends the user's sessions and API tokens at once."))
    password = PasswordField(_l("New password"), validators=[Optional(), Length(max=1000)],
                             description=_l("Leave empty to keep the current password."),
                             render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Save"))

    set_choices = UserCreateForm.set_choices

    def changes(self) -> dict:
        changes = {"name": (self.name.data or "").strip(), "role": self.role.data,
                   "institution_id": _id_choice(self.institution_id), "body_id": _id_choice(self.body_id),
                   "active": bool(self.active.data)}
        if self.password.data:
            changes["password"] = self.password.data
        return changes


class InstitutionForm(FlaskForm):
    name = _name(_l("Name"), 200)
    name_en = _name(_l("English name"), 300, required=False)
    kind = SelectField(_l("Kind"), validators=[InputRequired()])
    province = _name(_l("Province"), 60, required=False)
    submit = SubmitField(_l("Add the institution"))

    def data_for_service(self) -> dict:
        return {"name": self.name.data.strip(), "name_en": (self.name_en.data or "").strip() or None,
                "kind": self.kind.data, "province": (self.province.data or "").strip() or None}


class BodyForm(FlaskForm):
    name = _name(_l("Name"), 200)
    name_en = _name(_l("English name"), 300, required=False)
    channel = SelectField(_l("Channel"), validators=[InputRequired()])
    kind = SelectField(_l("Kind"), validators=[InputRequired()])
    submit = SubmitField(_l("Add the recommending body"))

    def data_for_service(self) -> dict:
        return {"name": self.name.data.strip(), "name_en": (self.name_en.data or "").strip() or None,
                "channel": self.channel.data, "kind": self.kind.data}


class BaseForm(FlaskForm):
    name = _name(_l("Name"), 200)
    name_en = _name(_l("English name"), 300, required=False)
    kind = SelectField(_l("Kind"), validators=[InputRequired()])
    institution_id = SelectField(_l("Institution"), validators=[Optional()])
    submit = SubmitField(_l("Add the base"))

    def data_for_service(self) -> dict:
        return {"name": self.name.data.strip(), "name_en": (self.name_en.data or "").strip() or None,
                "kind": self.kind.data, "institution_id": _id_choice(self.institution_id)}


class InstitutionEditForm(InstitutionForm):
    submit = SubmitField(_l("Save the institution"))


class BodyEditForm(BodyForm):
    submit = SubmitField(_l("Save the recommending body"))


class BaseEditForm(BaseForm):
    submit = SubmitField(_l("Save the base"))


class RetirementForm(FlaskForm):
    """Retire a registry row (`retired` "1") or put it back in use ("0"); the button asks first."""

    retired = HiddenField(validators=[AnyOf(("1", "0"))])

    def retire(self) -> bool:
        return self.retired.data == "1"


def _plausible(field) -> None:
    if field.data and not 2000 <= field.data.year <= 2999:
        raise ValidationError(_l("Give a year between 2000 and 2999."))


class CallForm(FlaskForm):
    """A call for proposals. Opening and closing times are typed in Beijing time."""

    code = _name(_l("Code"), 40)
    title = _name(_l("Call title"), 300)
    title_en = _name(_l("Call title in English"), 300, required=False)
    opens_at = DateTimeLocalField(_l("Opens (Beijing time)"), format=DATETIME_FORMAT, validators=[InputRequired()])
    closes_at = DateTimeLocalField(_l("Closes (Beijing time)"), format=DATETIME_FORMAT, validators=[InputRequired()])
    fields_ = SelectMultipleField(_l("Fields (none chosen: every field)"), validators=[Optional()],
                                  description=_l("Hold Ctrl (or ⌘) to choose several."), render_kw={"size": 6})
    total_budget = IntegerField(_l("Total budget (yuan)"), validators=[InputRequired(), NumberRange(0, MAX_YUAN)],
                                render_kw={"min": 0, "inputmode": "numeric"})
    quorum = IntegerField(_l("Reviews needed to close expert review"), default=3,
                          validators=[InputRequired(), NumberRange(1, 50)], render_kw={"min": 1, "max": 50})
    min_matching_ratio = DecimalField(_l("Minimum matching ratio (% of central funds)"), default=0, places=1,
                                      description=_l("Local matching and self-raised funds together, as a "
                                                     "percentage of central funds."),
                                      validators=[InputRequired(), NumberRange(0, 1000)],
                                      render_kw={"min": 0, "max": 1000, "step": "any"})
    max_central_per_project = IntegerField(_l("Most central funds per project (yuan, empty: no limit)"),
                                           validators=[Optional(), NumberRange(0, MAX_YUAN)],
                                           render_kw={"min": 0, "inputmode": "numeric"})
    grace_days = IntegerField(_l("Grace days before an overdue milestone suspends"), default=30,
                              validators=[InputRequired(), NumberRange(0, 365)], render_kw={"min": 0, "max": 365})
    # The guide (申报指南) is published with the call on /public/calls; paragraphs are separated by lines.
    guide = TextAreaField(_l("Call guide"), validators=[Optional(), Length(max=20000), NoControlCharacters()],
                          description=_l("Published with the call on the public pages: priorities, who may "
                                         "apply, what to submit. One paragraph per line."), render_kw={"rows": 8})
    guide_en = TextAreaField(_l("Call guide in English"),
                             validators=[Optional(), Length(max=20000), NoControlCharacters()], render_kw={"rows": 6})
    submit = SubmitField(_l("Save the call"))

    def validate_opens_at(self, field) -> None:
        _plausible(field)

    def validate_closes_at(self, field) -> None:
        _plausible(field)
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The call must close after it opens."))

    def data_for_service(self, to_utc) -> dict:
        """The call as the service takes it; `to_utc` turns a Beijing wall-clock time into UTC."""
        ratio = float(self.min_matching_ratio.data) / 100
        return {"code": self.code.data.strip(), "title": self.title.data.strip(),
                "title_en": (self.title_en.data or "").strip() or None,
                "opens_at": to_utc(self.opens_at.data), "closes_at": to_utc(self.closes_at.data),
                "fields": list(self.fields_.data or []), "total_budget": self.total_budget.data,
                "quorum": self.quorum.data, "min_matching_ratio": ratio,
                "max_central_per_project": self.max_central_per_project.data, "grace_days": self.grace_days.data,
                "guide": (self.guide.data or "").strip() or None, "guide_en": (self.guide_en.data or "").strip() or None}


class CallEditForm(CallForm):
    retired = BooleanField(_l("Retired (no longer offered)"),
                           description=_l("A retired call is kept on the record with its applications, "
                                          "but no longer offered."))

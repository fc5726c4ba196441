"""The reviewer pool: filters, an expert's profile, the CSV import, assignment, replacement and bulk assignment."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .dashboard import Chosen
from .fields import NoControlCharacters

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PoolFilterForm(FlaskForm):
    """Narrow the pool (a GET form that changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or e-mail"), validators=[Optional(), Length(max=200)])
    field = SelectField(_l("Field of expertise"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()])
    active = SelectField(_l("In the pool"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))


class ExpertForm(FlaskForm):
    """An expert's profile; the e-mail only when the expert is added."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), NoControlCharacters(),
                                               Regexp(EMAIL, message=_l("Not a valid e-mail address."))])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()])
    title = StringField(_l("Professional title"), validators=[Optional(), Length(max=200), NoControlCharacters()],
                        description=_l("For example 研究员, professor, chief engineer."))
    institution_id = SelectField(_l("Institution"), coerce=int,
                                 validators=[InputRequired(_l("Choose the expert's institution."))])
    fields = Checkboxes(_l("Fields of expertise"), validators=[Chosen(_l("Choose at least one field."))])
    country = SelectField(_l("Country"), validators=[InputRequired()])
    languages = Checkboxes(_l("Working languages"), validators=[Optional()])
    active = BooleanField(_l("Active in the pool"), default=True,
                          description=_l("Inactive experts are kept with their history but not suggested or assigned."))
    submit = SubmitField(_l("Save"))

    def data_for_service(self, *, with_email: bool) -> dict:
        data = {"name": self.name.data.strip(), "title": (self.title.data or "").strip() or None,
                "institution_id": self.institution_id.data, "fields": list(self.fields.data),
                "country": self.country.data, "languages": list(self.languages.data or []),
                "active": bool(self.active.data)}
        if with_email:
            data["email"] = self.email.data.strip()
        return data


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[DataRequired(_l("Choose a CSV file."))])
    submit = SubmitField(_l("Import"))


class AssignChosenForm(FlaskForm):
    """Several experts for one application, and their due date."""

    reviewer_ids = SelectMultipleField(_l("Reviewers"), coerce=int, validate_choice=False,
                                       validators=[Chosen(_l("Choose at least one reviewer."))])
    due_date = DateField(_l("Due date"), validators=[Optional()],
                         description=_l("Left empty: the fund's usual review period."))
    submit = SubmitField(_l("Assign the chosen reviewers"))

    def validate_due_date(self, field) -> None:
        import datetime as dt

        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # due dates are Beijing days
        if field.data is not None and field.data < today:
            raise ValidationError(_l("The due date has passed."))


class ReplaceForm(FlaskForm):
    """A replacement for one declined or overdue assignment: the chosen expert, or the top suggestion."""

    reviewer_id = SelectField(_l("Replacement"), validate_choice=False, validators=[Optional()])
    review_id = HiddenField()
    submit = SubmitField(_l("Replace"))


class BulkSuggestedForm(FlaskForm):
    app_ids = SelectMultipleField(_l("Applications"), coerce=int, validate_choice=False,
                                  validators=[Chosen(_l("Tick at least one application in the list."))])
    per_application = IntegerField(_l("Reviewers per application"), default=3,
                                   validators=[InputRequired(_l("Enter a number from 1 to 10.")),
                                               NumberRange(1, 10, message=_l("Enter a number from 1 to 10."))])
    due_date = DateField(_l("Reviews due by"), validators=[Optional()])
    submit = SubmitField(_l("Assign the suggested reviewers"))

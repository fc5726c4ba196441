"""The officer dashboard: its filters (a GET form) and its bulk actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, SubmitField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class FilterForm(FlaskForm):
    """Narrow the list; every choice is optional ("all"). Choices are filled in by the page."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    call_id = SelectField(_l("Call"), validators=[Optional()])
    state = SelectField(_l("State"), validators=[Optional()])
    channel = SelectField(_l("Channel"), validators=[Optional()])
    field = SelectField(_l("Field"), validators=[Optional()])
    country = SelectField(_l("Partner country"), validators=[Optional()])
    base_id = SelectField(_l("Cooperation base"), validators=[Optional()])
    compliance = SelectField(_l("Compliance"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Chosen:
    """At least one choice — said at the field, without the HTML `required` flag that would make the browser
    demand every checkbox of a group."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            from wtforms.validators import StopValidation

            raise StopValidation(self.message)


class BulkAssignForm(FlaskForm):
    """Assign the chosen reviewers to each ticked application (the checkboxes sit in the list's rows)."""

    app_ids = SelectMultipleField(_l("Applications"), coerce=int, validate_choice=False,
                                  validators=[Chosen(_l("Tick at least one application in the list."))])
    reviewer_ids = MultiCheckboxField(_l("Reviewers"), coerce=int,
                                      validators=[Chosen(_l("Choose at least one reviewer."))])
    due_date = DateField(_l("Reviews due by"), validators=[Optional()])
    assign = SubmitField(_l("Assign to the ticked applications"))


class RegenerateForm(FlaskForm):
    """Check every issued document of a call again, restoring missing or altered files."""

    # Its own id: the dashboard's filter form has a call_id too.
    call_id = SelectField(_l("Call"), coerce=int, id="regenerate-call_id",
                          validators=[InputRequired(message=_l("Choose a call."))])
    regenerate = SubmitField(_l("Check and restore the call's documents"))

"""The audit history's filter."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import TextInput

from .fields import NoControlCharacters


def _row_id(form, field) -> None:
    """An id a row could have; a value that is not a number at all has its own message already."""
    if field.data is not None and not 1 <= field.data <= 2**63 - 1:
        raise ValidationError(_l("Not a valid application number."))


class EventFilterForm(FlaskForm):
    """Sent by GET: the filters are the page's address, so a filtered view can be bookmarked and exported."""

    class Meta:
        csrf = False  # a read: nothing changes, and the address must stay shareable

    actor = StringField(_l("Actor (user id or e-mail)"),
                        validators=[Optional(), Length(max=254), NoControlCharacters()])
    role = SelectField(_l("Role"), validators=[Optional()], validate_choice=True)
    application = IntegerField(_l("Application no."), validators=[Optional(), _row_id], widget=TextInput(),
                               render_kw={"inputmode": "numeric"})
    trigger = SelectField(_l("Action"), validators=[Optional(), Length(max=40), NoControlCharacters()],
                          validate_choice=False)
    since = DateField(_l("From (Beijing date)"), validators=[Optional()])
    until = DateField(_l("To (Beijing date, inclusive)"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))

    def set_choices(self, roles: list[tuple[str, str]], triggers: list[tuple[str, str]]) -> None:
        self.role.choices = [("", "—"), *roles]
        self.trigger.choices = [("", "—"), *triggers]

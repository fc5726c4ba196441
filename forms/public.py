"""Public forms: the document check (anonymous, and still CSRF-protected) and the project filters."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from .fields import NoControlCharacters


class VerifyForm(FlaskForm):
    """A document number, or a PDF, or both: the service says what the record holds."""

    number = StringField(_l("Document number"), validators=[Optional(), Length(max=60), NoControlCharacters()],
                         description=_l("As printed at the top right of the document, e.g. 国科合〔2026〕0001号."),
                         render_kw={"autocomplete": "off", "placeholder": "国科合〔2026〕0001号"})
    file = FileField(_l("The document as a PDF (optional)"),
                     description=_l("The file is checked against the SHA-256 the fund recorded when it issued the "
                                    "document. It is not stored."),
                     render_kw={"accept": "application/pdf,.pdf"})
    submit = SubmitField(_l("Check the document"))


class ProjectFilterForm(FlaskForm):
    """Filters of the completed projects, sent by GET (nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    field = SelectField(_l("Field"), validators=[Optional()], validate_choice=False)
    country = SelectField(_l("Partner country"), validators=[Optional()], validate_choice=False)
    submit = SubmitField(_l("Filter"))

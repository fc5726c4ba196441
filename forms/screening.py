"""The officer's sensitive-technology flag on the application page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from .fields import NoControlCharacters


class SensitiveFlagForm(FlaskForm):
    flagged = BooleanField(_l("The project involves sensitive technology"),
                           description=_l("Foreign-invested and foreign applicants cannot then pass formal review."))
    comment = TextAreaField(_l("Reason (required)"), validators=[DataRequired(), Length(max=2000), NoControlCharacters()],
                            render_kw={"rows": 2, "maxlength": 2000})
    version = HiddenField()
    submit = SubmitField(_l("Save the screening flag"))

    def version_seen(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

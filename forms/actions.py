"""The small forms of the application page's actions panel: one per trigger."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from .fields import NoControlCharacters

MAX_COMMENT = 10_000


class ActionForm(FlaskForm):
    """A comment (the reason, where the trigger needs one) and the version the actor saw.

    Built with `prefix=<trigger>` so that several of them sit on one page with distinct field ids.
    The CSRF token is checked for every POST by CSRFProtect and sent by the template's csrf() macro.
    """

    class Meta:
        csrf = False

    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=MAX_COMMENT), NoControlCharacters()],
                            render_kw={"rows": 2, "maxlength": MAX_COMMENT})
    version = HiddenField()

    def version_seen(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class ApproveForm(ActionForm):
    """Approval also fixes the amount granted, in whole yuan."""

    approved_amount = IntegerField(_l("Approved amount (yuan)"),
                                   validators=[Optional(), NumberRange(min=1, max=10**13 - 1)],
                                   render_kw={"min": 1, "step": 1, "inputmode": "numeric"})


FORMS = {"approve": ApproveForm}


def action_form(trigger: str, **kwargs) -> ActionForm:
    """The form of one trigger, its fields named `<trigger>-<field>`."""
    return FORMS.get(trigger, ActionForm)(prefix=trigger, **kwargs)

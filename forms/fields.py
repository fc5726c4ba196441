"""Validators and fields every area's forms share."""
from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError


class NoControlCharacters:
    """Refuse NUL and other control characters and lone surrogates, which no database takes whole."""

    def __call__(self, form, field) -> None:
        value = field.data
        if not isinstance(value, str):
            return
        for ch in value:
            if ch in "\n\r\t":
                continue
            if unicodedata.category(ch) in ("Cc", "Cs"):
                raise ValidationError(_l("This contains characters that cannot be stored."))

"""Expert review: the scoring form, the conflict declaration and the officer's assignment form."""
from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import NumberInput

from .fields import NoControlCharacters

MAX_OPINION = 20_000
MAX_COMMENT = 10_000


class ScoreField(StringField):
    """A number from 0 to 100, typed in a number box; what was typed stays in the box when it is refused."""

    widget = NumberInput(step="any", min=0, max=100)

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            self.data = int(number) if number.is_integer() else number
        else:
            self.data = None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class Score:
    """Refuse anything but a number from 0 to 100 (the service is asked only with a number)."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, bool) or not isinstance(field.data, (int, float)) or not 0 <= field.data <= 100:
            field.data = None
            raise ValidationError(_l("Enter a score from 0 to 100."))


class OneOfChoices:
    def __init__(self, message):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError(self.message)


class ReviewForm(FlaskForm):
    """submit_review: one score for now (scores per rubric criterion come with the calls' rubrics)."""

    score = ScoreField(_l("Score (0–100)"), validators=[Score()],
                       description=_l("One overall score; 100 is the best."))
    opinion = TextAreaField(_l("Opinion"), validators=[DataRequired(_l("Write your opinion.")),
                                                       Length(max=MAX_OPINION), NoControlCharacters()],
                            render_kw={"rows": 8})
    recommendation = RadioField(_l("Recommendation"), validate_choice=False,
                                validators=[OneOfChoices(_l("Choose a recommendation."))])
    version = HiddenField(id="review-version")
    submit = SubmitField(_l("Submit review"))

    def __init__(self, *args, recommendations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.recommendation.choices = list(recommendations)


class DeclineForm(FlaskForm):
    """decline: the conflict of interest, named."""

    comment = TextAreaField(_l("The conflict of interest"),
                            validators=[DataRequired(_l("Name the conflict of interest.")),
                                        Length(max=MAX_COMMENT), NoControlCharacters()],
                            description=_l("For example: I co-authored with the applicant's team in the "
                                           "last three years."),
                            render_kw={"rows": 3})
    version = HiddenField(id="decline-version")
    submit = SubmitField(_l("Decline this review"))


class AssignForm(FlaskForm):
    """The officer's choice of experts for one application (several at once) and their due date."""

    reviewer_ids = SelectMultipleField(_l("Reviewers"), coerce=int, validate_choice=False,
                                       validators=[DataRequired(_l("Choose at least one reviewer."))])
    due_date = DateField(_l("Due date"), validators=[Optional()])
    submit = SubmitField(_l("Assign the chosen reviewers"))

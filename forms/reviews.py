"""Expert review: the scoring form, the conflict declaration and the officer's assignment form."""
from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
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
    """decline: the conflict of interest, named, and whether it is with the whole institution."""

    comment = TextAreaField(_l("The conflict of interest"),
                            validators=[DataRequired(_l("Name the conflict of interest.")),
                                        Length(max=MAX_COMMENT), NoControlCharacters()],
                            description=_l("For example: I co-authored with the applicant's team in the "
                                           "last three years."),
                            render_kw={"rows": 3})
    conflict_with = RadioField(_l("The conflict is with"), default="application", validate_choice=False,
                               validators=[OneOfChoices(_l("Choose what the conflict is with."))])
    version = HiddenField(id="decline-version")
    submit = SubmitField(_l("Decline this review"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflict_with.choices = [("application", _l("this application (its team or partners)")),
                                      ("institution", _l("the applicant institution as a whole"))]


class DeclareForm(FlaskForm):
    """declare_no_conflict: the expert's statement, before the full proposal is shown."""

    no_conflict = BooleanField(
        _l("I declare that I have no conflict of interest with the applicant institution, its team or its "
           "partners: I do not work there, have not worked with them in the last three years and have no "
           "other interest in the outcome."),
        validators=[DataRequired(_l("Tick the declaration to go on, or decline the review."))])
    version = HiddenField(id="declare-version")
    submit = SubmitField(_l("Declare no conflict and open the proposal"))


class CriterionScore:
    """Refuse anything but a number within the criterion's range."""

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def __call__(self, form, field) -> None:
        value = field.data
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            field.data = None
            raise ValidationError(_l("Enter a score from %(low)s to %(high)s.", low=format(self.low, "g"),
                                     high=format(self.high, "g")))


class RubricReviewForm(FlaskForm):
    """submit_review against a rubric: one score per criterion (fields score_<key>), the opinion, the recommendation."""

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

    def score_fields(self):
        return [f for f in self if f.name.startswith("score_")]

    def scores(self) -> dict[str, float]:
        return {f.name.removeprefix("score_"): f.data for f in self.score_fields()}


def rubric_review_form(criteria, labels, **kwargs) -> RubricReviewForm:
    """The scoring form of one rubric: a number box per criterion, labelled in the reader's language.

    `labels` maps each key to its label (the caller picks the language).
    """
    class Form(RubricReviewForm):
        pass

    for c in criteria:
        field = ScoreField(labels[c["key"]], validators=[CriterionScore(c["min"], c["max"])],
                           widget=NumberInput(step="any", min=c["min"], max=c["max"]),
                           description=_l("From %(low)s to %(high)s points; weight %(weight)s%%.",
                                          low=format(c["min"], "g"), high=format(c["max"], "g"),
                                          weight=format(c["weight"] * 100, "g")))
        setattr(Form, f"score_{c['key']}", field)
    return Form(**kwargs)


class CriterionForm(FlaskForm):
    """One row of the rubric editor; a row left empty is dropped."""

    class Meta:
        csrf = False  # the enclosing form carries the token

    key = StringField(_l("Key"), validators=[Optional(), Length(max=40)])
    label = StringField(_l("Criterion (Chinese)"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    label_en = StringField(_l("Criterion (English)"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    weight = StringField(_l("Weight"), validators=[Optional(), Length(max=20)])
    min = StringField(_l("Lowest score"), validators=[Optional(), Length(max=20)])
    max = StringField(_l("Highest score"), validators=[Optional(), Length(max=20)])

    def is_empty(self) -> bool:
        return not any((f.data or "").strip() for f in (self.key, self.label, self.label_en, self.weight,
                                                         self.min, self.max))

    def as_criterion(self) -> dict:
        """What the row says, numbers parsed where they are numbers (the service judges the rest)."""
        return {"key": (self.key.data or "").strip(), "label": self.label.data or "", "label_en": self.label_en.data or "",
                "weight": _parse(self.weight.data), "min": _parse(self.min.data), "max": _parse(self.max.data)}


def _parse(text):
    try:
        number = float((text or "").strip())
    except ValueError:
        return text
    return number if math.isfinite(number) else text


class RubricForm(FlaskForm):
    """A new version of a call's rubric: its criteria as rows."""

    criteria = FieldList(FormField(CriterionForm), min_entries=1, max_entries=20)
    submit = SubmitField(_l("Save as a new version"))


class AssignForm(FlaskForm):
    """The officer's choice of experts for one application (several at once) and their due date."""

    reviewer_ids = SelectMultipleField(_l("Reviewers"), coerce=int, validate_choice=False,
                                       validators=[DataRequired(_l("Choose at least one reviewer."))])
    due_date = DateField(_l("Due date"), validators=[Optional()])
    submit = SubmitField(_l("Assign the chosen reviewers"))

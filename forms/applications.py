"""The application form, in the sections of DESIGN §1, and the upload form every application page posts."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from .fields import NoControlCharacters

MAX_YUAN = 10**13 - 1  # what the API's schema takes
MIN_PARTNER_ROWS = 3


def BLANK(label="—") -> SelectChoice:
    return SelectChoice("", label)


def _choices(pairs) -> list[SelectChoice]:
    """SelectChoices from (value, label) or (value, label, render_kw) tuples."""
    return [SelectChoice(*pair) for pair in pairs]


def _none_or_int(value):
    if value in (None, "", "None"):
        return None
    number = int(value)  # a ValueError is WTForms' "not a valid choice"
    if not 1 <= number < 2**31:
        raise ValueError("out of range")
    return number


def size_text(n: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{round(n / size, 1):g} {unit}"
    return f"{n} B"


class PdfFile:
    """A PDF no larger than the upload limit; checked before anything is saved, so a bad file changes nothing."""

    def __call__(self, form, field) -> None:
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        stream = upload.stream
        content = stream.read(limit + 1)
        stream.seek(0)
        if len(content) > limit:
            raise ValidationError(_l("The file is too large: attachments are limited to %(size)s.",
                                     size=size_text(limit)))
        if not (content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]):
            raise ValidationError(_l("This is not a PDF file. Upload the document as a PDF."))


class PartnerForm(Form):
    """One consortium partner; a row left blank is no partner."""

    name = StringField(_l("Partner name"), validators=[Optional(), Length(max=300), NoControlCharacters()])
    country = SelectField(_l("Country"), validate_choice=False)
    kind = SelectField(_l("Kind of partner"), validate_choice=False)

    def is_blank(self) -> bool:
        return not (self.name.data or "").strip() and not self.country.data and not self.kind.data

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        if not (self.name.data or "").strip():
            self.name.errors = [*self.name.errors, _l("Enter the partner's name.")]
            ok = False
        if self.country.data not in self.country.valid:
            self.country.errors = [*self.country.errors, _l("Choose the partner's country.")]
            ok = False
        if self.kind.data not in self.kind.valid:
            self.kind.errors = [*self.kind.errors, _l("Choose the kind of partner.")]
            ok = False
        return ok


class ApplicationForm(FlaskForm):
    """The whole application: one form, shown in sections."""

    version = HiddenField()

    # Basic facts
    call_id = SelectField(_l("Call"), coerce=_none_or_int, validate_choice=False)
    title = StringField(_l("Project title"), validators=[DataRequired(), Length(max=300), NoControlCharacters()])
    title_en = StringField(_l("English title"), validators=[Optional(), Length(max=300), NoControlCharacters()])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=20000), NoControlCharacters()],
                            render_kw={"rows": 5})
    field = SelectField(_l("Field"), validate_choice=False)
    cooperation_type = SelectField(_l("Type of cooperation"), validate_choice=False)
    principal_investigator = StringField(_l("Principal investigator"),
                                         validators=[Optional(), Length(max=200), NoControlCharacters()])

    # Channel and recommending body
    channel = SelectField(_l("Channel"), validate_choice=False)
    body_id = SelectField(_l("Recommending body"), coerce=_none_or_int, validate_choice=False)
    # International cooperation base
    base_id = SelectField(_l("International cooperation base"), coerce=_none_or_int, validate_choice=False)

    partners = FieldList(FormField(PartnerForm), min_entries=MIN_PARTNER_ROWS, max_entries=50)

    # Budget by source, in yuan
    budget_central = IntegerField(_l("Central funds (yuan)"), default=0,
                                  validators=[InputRequired(), NumberRange(0, MAX_YUAN)],
                                  render_kw={"min": 0, "step": 1, "inputmode": "numeric"})
    budget_local_matching = IntegerField(_l("Local matching funds (yuan)"), default=0,
                                         validators=[InputRequired(), NumberRange(0, MAX_YUAN)],
                                         render_kw={"min": 0, "step": 1, "inputmode": "numeric"})
    budget_self_raised = IntegerField(_l("Self-raised funds (yuan)"), default=0,
                                      validators=[InputRequired(), NumberRange(0, MAX_YUAN)],
                                      render_kw={"min": 0, "step": 1, "inputmode": "numeric"})

    # People and duration
    duration_months = IntegerField(_l("Duration (months)"), validators=[Optional(), NumberRange(1, 120)],
                                   render_kw={"min": 1, "max": 120})
    foreign_experts = IntegerField(_l("Foreign experts involved"), default=0,
                                   validators=[InputRequired(), NumberRange(0, 10000)], render_kw={"min": 0})
    young_researchers = IntegerField(_l("Young researchers involved"), default=0,
                                     validators=[InputRequired(), NumberRange(0, 10000)], render_kw={"min": 0})

    sensitive_technology = BooleanField(_l("The project involves national-security or sensitive technology"))

    proposal = FileField(_l("Proposal (PDF)"), validators=[PdfFile()], render_kw={"accept": "application/pdf,.pdf"})
    cooperation_agreement = FileField(_l("International cooperation agreement (PDF)"), validators=[PdfFile()],
                                      render_kw={"accept": "application/pdf,.pdf"})

    more_rows = SubmitField(_l("More partner rows"), render_kw={"formnovalidate": True})
    save = SubmitField(_l("Save draft"))

    def setup(self, *, calls, bodies, bases, channels, fields, cooperation_types, countries,
              partner_kinds, retired_bodies=()) -> None:
        """Fill the choices, which depend on the registry and the reader's language.

        Each argument is a list of (value, label) pairs, except `calls`: (id, label, option attributes),
        `bodies`: (id, label, channel, channel label) and `countries`: (code, label, group label).
        `retired_bodies`: the ids among `bodies` that are retired (shown, because the draft names one,
        but refused: no application is submitted to a retired body).
        """
        self._retired_bodies = set(retired_bodies)
        self.call_id.choices = [BLANK(_l("Choose a call")), *_choices(calls)]
        self.field.choices = [BLANK(), *_choices(fields)]
        self.cooperation_type.choices = [BLANK(), *_choices(cooperation_types)]
        self.channel.choices = [BLANK(_l("Choose a channel")), *_choices(channels)]
        self.body_id.choices = [BLANK(_l("Choose a recommending body")),
                                *(SelectChoice(value, label, {"data-channel": channel}, group)
                                  for value, label, channel, group in bodies)]
        self.base_id.choices = [BLANK(_l("None")), *_choices(bases)]
        self._body_channels = {value: channel for value, _, channel, _ in bodies}
        self._valid = {"field": {c for c, _ in fields}, "cooperation_type": {c for c, _ in cooperation_types},
                       "channel": {c for c, _ in channels}, "base_id": {c for c, _ in bases},
                       "call_id": {c[0] for c in calls}}
        self._partner_choices = ([BLANK(), *(SelectChoice(c, label, {}, group) for c, label, group in countries)],
                                 {c for c, _, _ in countries}, [BLANK(), *_choices(partner_kinds)],
                                 {c for c, _ in partner_kinds})
        for row in self.partners:
            self._setup_row(row.form)

    def _setup_row(self, row: PartnerForm) -> None:
        country_choices, country_valid, kind_choices, kind_valid = self._partner_choices
        row.country.choices, row.country.valid = country_choices, country_valid
        row.kind.choices, row.kind.valid = kind_choices, kind_valid

    def add_partner_row(self) -> None:
        if len(self.partners) < self.partners.max_entries:
            self.partners.append_entry()
            self._setup_row(self.partners[-1].form)

    call_fixed = False  # editing: the draft's call cannot change

    def validate_call_id(self, field) -> None:
        if self.call_fixed:
            return
        self._choice(field, _l("Choose the call you apply to."))

    # --- checks the choices need -------------------------------------------------

    def _choice(self, field, required_message=None) -> None:
        if not field.data:
            if required_message:
                raise ValidationError(required_message)
            return
        if field.data not in self._valid[field.name]:
            raise ValidationError(_l("Choose one of the listed options."))

    def validate_field(self, field) -> None:
        self._choice(field)

    def validate_cooperation_type(self, field) -> None:
        self._choice(field)

    def validate_channel(self, field) -> None:
        self._choice(field, _l("Choose the channel the application goes through."))

    def validate_base_id(self, field) -> None:
        self._choice(field)

    def validate_body_id(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the recommending body."))
        channel = self._body_channels.get(field.data)
        if channel is None:
            raise ValidationError(_l("Choose one of the listed options."))
        if field.data in self._retired_bodies:
            raise ValidationError(_l("This recommending body is retired and takes no new applications. "
                                     "Choose another body of the channel."))
        if self.channel.data and channel != self.channel.data:
            raise ValidationError(_l("This body does not recommend through the chosen channel. "
                                     "Choose a body of that channel."))

    def data_for_service(self) -> dict:
        """The fields as services.applications takes them (the API's shape)."""
        return {
            "title": self.title.data.strip(),
            "title_en": (self.title_en.data or "").strip() or None,
            "summary": self.summary.data or "",
            "field": self.field.data or None,
            "cooperation_type": self.cooperation_type.data or None,
            "principal_investigator": (self.principal_investigator.data or "").strip() or None,
            "channel": self.channel.data,
            "body_id": self.body_id.data,
            "base_id": self.base_id.data,
            "partners": [{"name": row.form.name.data.strip(), "country": row.form.country.data,
                          "kind": row.form.kind.data} for row in self.partners if not row.form.is_blank()],
            "budget": {"central": self.budget_central.data, "local_matching": self.budget_local_matching.data,
                       "self_raised": self.budget_self_raised.data},
            "duration_months": self.duration_months.data,
            "foreign_experts": self.foreign_experts.data,
            "young_researchers": self.young_researchers.data,
            "sensitive_technology": bool(self.sensitive_technology.data),
        }


class UploadForm(FlaskForm):
    """One attachment, posted from any application page."""

    kind = SelectField(_l("Kind of document"), validate_choice=False)

    def setup(self, kinds) -> None:
        self.kind.choices = _choices(kinds)
        self._kinds = {c for c, _ in kinds}

    def validate_kind(self, field) -> None:
        if field.data not in self._kinds:
            raise ValidationError(_l("Choose one of the listed options."))
    file = FileField(_l("File (PDF)"), validators=[PdfFile()], render_kw={"accept": "application/pdf,.pdf"})
    next = HiddenField()
    upload = SubmitField(_l("Upload"))

"""After the award: the agreement with its milestones, milestone reports, change requests and close-out."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from marshmallow import ValidationError as SchemaError

from workflow import labels, schemas

from .fields import NoControlCharacters

MILESTONE_ROWS = 4  # rows an empty agreement form offers; "more rows" adds MORE_ROWS
MORE_ROWS = 2
MAX_MILESTONES = 60
PARTNER_ROWS = 3
MAX_YUAN = 10**13 - 1


class IsoDateField(DateField):
    """A date typed as YYYY-MM-DD (what <input type=date> sends), refused in the reader's language."""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        try:
            self.data = dt.date.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Not a date: write it as YYYY-MM-DD."))) from None


class WholeNumberField(IntegerField):
    """A whole number, refused with a message in the reader's language."""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Write a whole number."))) from None


MILESTONE_KIND_CODES = ("joint_research_output", "personnel_exchange", "technology_transfer",
                        "foreign_experts_engaged", "annual_report", "mid_term_report")
AGREEMENT_PARTNER_ROWS = 2


class MilestoneRow(Form):
    """One milestone of the cooperation agreement. A row left wholly empty is ignored."""

    title = StringField(_l("Milestone"), validators=[Optional(), Length(max=300), NoControlCharacters()])
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)
    due_date = IsoDateField(_l("Due date"), validators=[Optional()], render_kw={"type": "date"})
    evidence = StringField(_l("Evidence expected"), validators=[Optional(), Length(max=2000), NoControlCharacters()])

    @property
    def blank(self) -> bool:
        return not (self.title.data or "").strip() and self.due_date.data is None and not self.due_date.errors \
            and not (self.due_date.raw_data and (self.due_date.raw_data[0] or "").strip()) \
            and not (self.evidence.data or "").strip()


class AgreementPartnerRow(Form):
    """A partner institution that signed the cooperation agreement. A row without a name is ignored."""

    name = StringField(_l("Partner institution"), validators=[Optional(), Length(max=300), NoControlCharacters()])
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=False)

    @property
    def blank(self) -> bool:
        return not (self.name.data or "").strip()


def _required_text(limit: int, message) -> list:
    return [DataRequired(message), Length(max=limit), NoControlCharacters()]


class AgreementForm(FlaskForm):
    """The signed project agreement (任务书), the cooperation agreement it rests on, and its milestones."""

    version = HiddenField()
    agreement_file = FileField(_l("Signed project agreement (PDF)"))
    title = StringField(_l("Title of the cooperation agreement"),
                        validators=_required_text(300, _l("Give the agreement's title.")))
    signed_on = IsoDateField(_l("Signed on"), validators=[InputRequired(_l("Give the signing date."))],
                             render_kw={"type": "date"})
    valid_from = IsoDateField(_l("Valid from"), validators=[InputRequired(_l("Give the first day of validity."))],
                              render_kw={"type": "date"})
    valid_until = IsoDateField(_l("Valid until"), validators=[InputRequired(_l("Give the last day of validity."))],
                               render_kw={"type": "date"})
    partners = FieldList(FormField(AgreementPartnerRow), min_entries=AGREEMENT_PARTNER_ROWS, max_entries=50)
    commitments_domestic = TextAreaField(_l("Commitments of the Chinese side"), validators=_required_text(
        10000, _l("Say what the Chinese side commits to.")), render_kw={"rows": 3})
    commitments_foreign = TextAreaField(_l("Commitments of the foreign side"), validators=_required_text(
        10000, _l("Say what the foreign side commits to.")), render_kw={"rows": 3})
    milestones = FieldList(FormField(MilestoneRow), min_entries=MILESTONE_ROWS, max_entries=MAX_MILESTONES)
    more = SubmitField(_l("More rows"))
    sign = SubmitField(_l("Sign the project agreement"))

    def set_choices(self, countries: dict[str, str], kinds: dict[str, str]) -> None:
        """Labels in the reader's language ({value: label})."""
        for row in self.partners.entries:
            row.form.country.choices = {"": "—", **countries}
        for row in self.milestones.entries:
            row.form.kind.choices = kinds

    def validate_valid_until(self, field) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(str(_l("The agreement must be valid until a day after it is valid from.")))

    def validate_partners(self, field) -> None:
        rows = [r.form for r in field.entries if not r.form.blank]
        for row in rows:
            if not row.country.data:
                row.country.errors = [str(_l("Choose the country."))]
        if any(r.country.errors for r in rows):
            raise ValidationError(str(_l("Some partners are not complete.")))
        if not any(r.country.data not in ("", "CN") for r in rows):
            raise ValidationError(str(_l("At least one foreign partner institution is required.")))

    def validate_milestones(self, field) -> None:
        for row in field.entries:
            form = row.form
            if form.blank:
                continue
            if not (form.title.data or "").strip():
                form.title.errors = [*form.title.errors, str(_l("Give the milestone a title."))]
            if form.due_date.data is None and not form.due_date.errors:
                form.due_date.errors = [*form.due_date.errors, str(_l("Give the due date."))]
            if form.kind.data not in MILESTONE_KIND_CODES:
                form.kind.errors = [*form.kind.errors, str(_l("Choose the kind."))]
        if any(r.form.title.errors or r.form.due_date.errors or r.form.kind.errors for r in field.entries):
            raise ValidationError(str(_l("Some milestones are not complete.")))
        if all(r.form.blank for r in field.entries):
            raise ValidationError(str(_l("List at least one milestone of the cooperation agreement.")))

    def check_window(self, duration_months: int | None) -> bool:
        """Mark the due dates outside the project's duration, before anything is uploaded; True if any.

        The same window the sign_agreement guard holds (guards.project_window), so a refused page
        keeps no signed copy either.
        """
        from workflow.guards import project_window

        first, last = project_window(duration_months, {"signed_on": self.signed_on.data, "valid_from": self.valid_from.data,
                                               "valid_until": self.valid_until.data}, None)
        outside = False
        for row in self.filled_milestones():
            if row.due_date.data and not first <= row.due_date.data <= last:
                row.due_date.errors = [str(_l("Outside the project's duration: due between %(first)s and %(last)s.",
                                              first=first.isoformat(), last=last.isoformat()))]
                outside = True
        return outside

    def filled_milestones(self) -> list:
        """The rows that are not blank, in the order the payload lists them."""
        return [r.form for r in self.milestones.entries if not r.form.blank]

    def milestone_payload(self) -> list[dict]:
        """The filled rows as the service takes them: [{title, kind, due_date (ISO), evidence}]."""
        return [{"title": f.title.data.strip(), "kind": f.kind.data, "due_date": f.due_date.data.isoformat(),
                 "evidence": (f.evidence.data or "").strip() or None} for f in self.filled_milestones()]

    def agreement_payload(self) -> dict:
        """The cooperation agreement as the service takes it."""
        return {"title": self.title.data.strip(), "signed_on": self.signed_on.data.isoformat(),
                "valid_from": self.valid_from.data.isoformat(), "valid_until": self.valid_until.data.isoformat(),
                "partners": [{"name": r.form.name.data.strip(), "country": r.form.country.data}
                             for r in self.partners.entries if not r.form.blank],
                "commitments_domestic": self.commitments_domestic.data.strip(),
                "commitments_foreign": self.commitments_foreign.data.strip()}


def outcome_field(code: str) -> WholeNumberField:
    # Labelled on the page from labels.OUTCOMES, in the reader's language.
    return WholeNumberField(labels.OUTCOMES[code][1], validators=[InputRequired(_l("Give a number, 0 if none.")),
                                                NumberRange(0, 10**6, _l("A whole number from 0 to 1,000,000."))],
                            default=0, render_kw={"min": 0, "inputmode": "numeric"})


class CloseoutForm(FlaskForm):
    """Request close-out: the final report, the outcomes and a comment."""

    version = HiddenField()
    final_file = FileField(_l("Final report (PDF)"))
    papers = outcome_field("papers")
    patents = outcome_field("patents")
    standards = outcome_field("standards")
    technologies_transferred = outcome_field("technologies_transferred")
    experts_engaged = outcome_field("experts_engaged")
    researchers_trained = outcome_field("researchers_trained")
    # 项目—基地—人才: the base the project built or strengthened, if any.
    base = RadioField(_l("International cooperation base"),
                      choices={"built": "built", "strengthened": "strengthened", "none": "none"}, validate_choice=False,
                      validators=[InputRequired(_l("Say whether the project built or strengthened a base."))])
    base_id = SelectField(_l("Which base"), validate_choice=False)  # needed with "built" or "strengthened"
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=10000), NoControlCharacters()],
                            render_kw={"rows": 3})
    submit = SubmitField(_l("Request close-out"))

    def validate_base(self, field) -> None:
        if field.data not in ("built", "strengthened", "none"):
            raise ValidationError(str(_l("Say whether the project built or strengthened a base.")))

    def validate_base_id(self, field) -> None:
        if self.base.data in ("built", "strengthened") and not (field.data or "").isdigit():
            raise ValidationError(str(_l("Choose the base from the registry.")))

    def outcomes(self) -> dict:
        chosen = self.base.data in ("built", "strengthened")
        return {**{code: int(getattr(self, code).data) for code in labels.OUTCOMES}, "base": self.base.data,
                "base_id": int(self.base_id.data) if chosen and (self.base_id.data or "").isdigit() else None}


class MilestoneReportForm(FlaskForm):
    """The applicant's progress report on one milestone, with an optional PDF."""

    version = HiddenField()
    report = TextAreaField(_l("Progress report"), validators=[DataRequired(_l("Write the progress report.")),
                                                              Length(max=10000), NoControlCharacters()],
                           render_kw={"rows": 3})
    report_file = FileField(_l("Milestone report (PDF, optional)"))
    submit = SubmitField(_l("Report"))


class DecisionForm(FlaskForm):
    """An officer's decision on a milestone or a change request, with its comment (the reason)."""

    version = HiddenField()
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=10000), NoControlCharacters()],
                            render_kw={"rows": 2})


class PartnerRow(Form):
    name = StringField(_l("Partner"), validators=[Optional(), Length(max=300), NoControlCharacters()])
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)

    @property
    def blank(self) -> bool:
        return not (self.name.data or "").strip()


class ChangeRequestForm(FlaskForm):
    """A change request on a running project: its kind, the change asked for and the reason."""

    version = HiddenField()
    kind = RadioField(_l("Kind of change"), choices={k: k for k in labels.CHANGE_KINDS}, validate_choice=False,
                      validators=[InputRequired(_l("Choose the kind of change."))])
    extend_months = WholeNumberField(_l("Extend by (months)"), validators=[Optional()],
                                     render_kw={"min": 1, "max": 24, "inputmode": "numeric"})
    central = WholeNumberField(_l("Central funds (yuan)"), validators=[Optional()], render_kw={"min": 0})
    local_matching = WholeNumberField(_l("Local matching (yuan)"), validators=[Optional()], render_kw={"min": 0})
    self_raised = WholeNumberField(_l("Self-raised (yuan)"), validators=[Optional()], render_kw={"min": 0})
    partners = FieldList(FormField(PartnerRow), min_entries=PARTNER_ROWS, max_entries=50)
    more = SubmitField(_l("More rows"))
    principal_investigator = StringField(_l("New principal investigator"),
                                         validators=[Optional(), Length(max=200), NoControlCharacters()])
    comment = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason for the change.")),
                                                      Length(max=10000), NoControlCharacters()],
                            render_kw={"rows": 4})
    submit = SubmitField(_l("File the change request"))

    def set_choices(self, countries: dict[str, str], kinds: dict[str, str], change_kinds: dict[str, str]) -> None:
        """Labels in the reader's language ({value: label}); a blank first option where nothing is chosen."""
        self.kind.choices = change_kinds
        for row in self.partners.entries:
            row.form.country.choices = {"": "—", **countries}
            row.form.kind.choices = {"": "—", **kinds}

    def proposal(self) -> dict | None:
        """The change asked for, as the API's ChangeRequestIn takes it; None (with field errors) if not valid."""
        proposal = self._proposal()
        if proposal is None:
            return None
        try:  # the API's own rules, so a page takes exactly what the API takes
            schemas.ChangeRequestIn().load({"kind": self.kind.data, "comment": self.comment.data or "", **proposal})
        except SchemaError as err:
            self._place(err.messages)
            return None
        return proposal

    def _place(self, messages: dict) -> None:
        for key, value in messages.items():
            if key == "budget" and isinstance(value, dict):
                for name, msgs in value.items():
                    if name in ("central", "local_matching", "self_raised"):
                        getattr(self, name).errors = [str(_l("Whole yuan, 0 or more."))]
            elif key in ("extend_months", "principal_investigator", "comment"):
                getattr(self, key).errors = [str(m) for m in (value if isinstance(value, list) else [value])]
            else:
                target = self.partners if key == "partners" else self.kind
                target.errors = [*[e for e in target.errors if isinstance(e, str)],
                                 str(_l("This change is not valid: %(problem)s", problem=value))]

    def _proposal(self) -> dict | None:
        kind = self.kind.data
        if kind not in labels.CHANGE_KINDS:
            self.kind.errors = [str(_l("Choose the kind of change."))]
            return None
        if kind == "extension":
            months = self.extend_months.data
            if months is None or not 1 <= months <= 24:
                if not self.extend_months.errors:
                    self.extend_months.errors = [str(_l("Extend by 1 to 24 months."))]
                return None
            return {"extend_months": months}
        if kind == "budget_reallocation":
            budget, ok = {}, True
            for name in ("central", "local_matching", "self_raised"):
                field = getattr(self, name)
                if field.data is None or not 0 <= field.data <= MAX_YUAN:
                    if not field.errors:
                        field.errors = [str(_l("Whole yuan, 0 or more."))]
                    ok = False
                else:
                    budget[name] = field.data
            return {"budget": budget} if ok else None
        if kind == "partner_change":
            rows, ok = [], True
            for row in self.partners.entries:
                f = row.form
                if f.blank:
                    continue
                if f.country.data not in labels.COUNTRIES:
                    f.country.errors = [str(_l("Choose the country."))]
                    ok = False
                if f.kind.data not in labels.PARTNER_KINDS:
                    f.kind.errors = [str(_l("Choose the kind."))]
                    ok = False
                rows.append({"name": f.name.data.strip(), "country": f.country.data, "kind": f.kind.data})
            if ok and not rows:
                self.partners.errors = [str(_l("List the partners as they will be after the change."))]
                return None
            if ok and all(r["country"] == "CN" for r in rows):
                self.partners.errors = [str(_l("At least one foreign partner is required."))]
                return None
            return {"partners": rows} if ok else None
        if kind == "pi_change":
            name = (self.principal_investigator.data or "").strip()
            if not name:
                self.principal_investigator.errors = [str(_l("Name the new principal investigator."))]
                return None
            return {"principal_investigator": name}
        return None

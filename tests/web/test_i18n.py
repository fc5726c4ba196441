"""Dates in Beijing time and amounts as Chinese and English readers expect them, and a complete catalogue."""
from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import format_date, format_datetime

from workflow import translate
from workflow.web import i18n

MOMENTS = [dt.datetime(2026, 12, 1, 17, 5, tzinfo=dt.timezone.utc), dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.timezone.utc),
           dt.datetime(2027, 1, 9, 3, 30, tzinfo=dt.timezone.utc)]


@pytest.mark.parametrize("language, day, moment", [("zh", "long", "y年M月d日 HH:mm"), ("en", "d MMM y", "d MMM y, HH:mm")])
def test_dates_read_as_babel_writes_them_in_beijing_time(app, language, day, moment):
    with app.test_request_context(headers={"Cookie": f"fundflow_lang={language}"}):
        for value in MOMENTS:
            assert i18n.date(value) == format_date(value.astimezone(i18n.BEIJING).date(), day)
            assert i18n.datetime(value) == format_datetime(value, moment)
    with app.test_request_context(headers={"Cookie": "fundflow_lang=zh"}):
        assert i18n.date(MOMENTS[1]) == "2027年1月1日"  # 16:00 UTC on New Year's Eve is the next day in Beijing


def test_amounts_are_wan_yuan_in_chinese_and_yuan_in_english(app):
    with app.test_request_context(headers={"Cookie": "fundflow_lang=zh"}):
        assert i18n.money(28_900_000) == "2,890.00 万元"
        assert i18n.money(None) == "—"
    with app.test_request_context(headers={"Cookie": "fundflow_lang=en"}):
        assert i18n.money(28_900_000) == "¥28,900,000"


def test_every_message_has_its_chinese():
    assert translate.untranslated("zh") == []


def test_the_compiled_catalogue_is_the_one_the_sources_give():
    """Every marked message of the code and templates is in the catalogue (run `fundflow translate update`)."""
    extracted = {m.id for m in translate.extract() if m.id}
    catalogue = {m.id for m in translate.read("zh") if m.id}
    assert extracted - catalogue == set()

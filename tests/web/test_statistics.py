"""The statistics page: for the fund's staff only, the API's numbers as charts and tables, in both languages."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from workflow.headers import SVG_CSP
from workflow.models import CooperationBase

SVG = "{http://www.w3.org/2000/svg}"
DIMENSIONS = ("channel", "field", "country", "base", "state")


@pytest.fixture
def funded(factory):
    """Applications along the road: one closed out with outcomes, one approved, one in screening, one draft."""
    base = factory._add(CooperationBase(name="国际农业联合研究中心", name_en="International joint research center "
                                        "for agriculture", kind="joint_research_center"))
    embassy = factory.cast(recommender=factory.user("recommender", body=factory.body(channel="embassy",
                                                                                   kind="embassy_section")))
    done, cast = factory.application("closeout_review", base_id=base.id)
    approved, _ = factory.application("approved", cast=embassy, field="modern_agriculture",
                                      partners=[{"name": "INRAE", "country": "FR", "kind": "institute"},
                                                {"name": "Wageningen University", "country": "NL",
                                                 "kind": "university"}])
    screening, _ = factory.application("formal_review", field="biology_health")
    factory.application("draft")
    return cast.officer, {"done": done, "approved": approved, "screening": screening}


def _table(html: str, dimension: str) -> dict[str, dict[str, int]]:
    """{key: {measure: number}} from the page's table of one dimension."""
    table = re.search(rf'<table class="table table-sm ff-stat-table" data-dimension="{dimension}">(.*?)</table>',
                      html, re.S).group(1)
    out = {}
    for key, row in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', table, re.S):
        cells = {}
        for measure, value, text in re.findall(
                r'data-measure="(\w+)"(?: data-value="(\d+)")?>([^<]*)<', row):
            cells[measure] = int(value or text)
        out[key] = cells
    return out


@pytest.mark.parametrize("role, status", [("officer", 200), ("admin", 200), ("applicant", 403),
                                          ("recommender", 200), ("reviewer", 403)])
def test_statistics_are_for_the_funds_staff(pages, factory, role, status):
    client = pages(factory.user(role))
    assert client.get("/statistics").status_code == status
    assert client.get("/statistics/charts/channel.svg").status_code == status
    if status == 403:
        assert "统计分析仅供专项项目主管和系统管理员查看" in client.get("/statistics").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(pages):
    for path in ("/statistics", "/statistics/charts/field.svg"):
        response = pages().get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_shows_the_apis_numbers(pages, api, funded):
    officer, made = funded
    numbers = api(officer).get("/statistics").json
    html = pages(officer).get("/statistics").get_data(as_text=True)
    for dimension in DIMENSIONS:
        expected = {row["key"]: {k: row[k] for k in ("applications", "funded", "requested_central",
                                                      "approved_amount")}
                    for row in numbers[f"by_{dimension}"]}
        assert _table(html, dimension) == expected, dimension
    assert _table(html, "outcomes") == {k: {"value": v} for k, v in numbers["outcomes"].items()}
    assert numbers["outcomes"]["papers"] == 6  # the closed-out project's, as lifecycle reports them
    total = numbers["total"]
    assert total["applications"] == 3  # the draft is not routed
    assert f'data-measure="applications">{total["applications"]}<' in html
    assert f'data-measure="approved_amount" data-value="{total["approved_amount"]}"' in html
    # labels in the reader's language, amounts in 万元
    assert "驻外使领馆推荐" in html and "现代农业" in html and "法国" in html and "国际农业联合研究中心" in html
    assert "形式审查" in html and "论文（篇）" in html and "万元" in html


def test_each_dimension_has_its_charts_with_alt_text(pages, funded):
    officer, _made = funded
    html = pages(officer).get("/statistics").get_data(as_text=True)
    for dimension in DIMENSIONS:
        for src in (f"/statistics/charts/{dimension}.svg", f"/statistics/charts/{dimension}.svg?measure=funds"):
            assert re.search(rf'<img src="{re.escape(src)}" alt="[^"]+条形图[^"]+"', html), src
    assert '<img src="/statistics/charts/outcomes.svg" alt="' in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("dimension", DIMENSIONS + ("outcomes",))
def test_a_chart_is_valid_svg_with_the_labels_and_no_script(pages, funded, dimension):
    officer, _made = funded
    response = pages(officer).get(f"/statistics/charts/{dimension}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == SVG_CSP
    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter(f"{SVG}script"))
    text = " ".join(t for t in root.itertext())
    expected = {"channel": ["政府间合作", "驻外使领馆推荐"], "field": ["能源与资源", "现代农业", "生物与健康"],
                "country": ["德国", "法国", "荷兰"], "base": ["国际农业联合研究中心"],
                "state": ["形式审查", "已立项", "结题验收"], "outcomes": ["论文（篇）", "专利（项）"]}[dimension]
    for label in expected:
        assert label in text, (dimension, label)
    assert "Noto Sans CJK SC" in response.get_data(as_text=True)


def test_the_funds_chart_and_english_labels(pages, funded):
    officer, _made = funded
    client = pages(officer, language="en")
    response = client.get("/statistics/charts/channel.svg?measure=funds")
    root = ET.fromstring(response.data)
    text = " ".join(root.itertext())
    assert "Requested central funds" in text and "Approved funds" in text and "million yuan" in text
    assert "Intergovernmental cooperation" in text and "Embassy and consulate" in text and "政府间合作" not in text
    html = client.get("/statistics").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "By partner country" in html and "France" in html and "Modern agriculture" in html
    assert "International joint research center for agriculture" in html and "Papers" in html
    assert "¥" in html and "万元" not in html
    chinese = pages(officer).get("/statistics/charts/channel.svg?measure=funds")
    assert "万元" in " ".join(ET.fromstring(chinese.data).itertext())


def test_an_unknown_chart_is_not_found(pages, factory):
    client = pages(factory.user("officer"))
    assert client.get("/statistics/charts/colour.svg").status_code == 404
    assert client.get("/statistics/charts/channel.svg?measure=weight").status_code == 404


def test_an_empty_fund_draws_empty_charts(pages, factory):
    client = pages(factory.user("admin"))
    assert client.get("/statistics").status_code == 200
    response = client.get("/statistics/charts/base.svg")
    assert response.status_code == 200
    assert "暂无数据" in " ".join(ET.fromstring(response.data).itertext())

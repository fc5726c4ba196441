"""Statistics by channel, field, country, state and base; the review ranking of a call."""
from __future__ import annotations


def test_statistics_count_routed_applications_and_their_funds(factory, api):
    call = factory.call()
    cast = factory.cast()
    done, _ = factory.application("completed", cast=cast, call=call, field="biology_health", partners=[
        {"name": "Institut Pasteur", "country": "FR", "kind": "institute"},
        {"name": "University of Nairobi", "country": "KE", "kind": "university"}])
    factory.application("rejected", cast=cast, call=call)
    factory.application("draft", cast=cast, call=call)  # private: not counted

    stats = api(cast.officer).get("/statistics").json

    assert stats["total"]["applications"] == 2
    assert stats["total"]["funded"] == 1
    assert stats["total"]["approved_amount"] == done.approved_amount
    assert stats["total"]["requested_central"] == 2 * 3_000_000
    by_state = {row["key"]: row["applications"] for row in stats["by_state"]}
    assert by_state == {"completed": 1, "rejected": 1}
    by_field = {row["key"]: row["applications"] for row in stats["by_field"]}
    assert by_field == {"biology_health": 1, "energy_resources": 1}
    by_country = {row["key"]: (row["applications"], row["approved_amount"]) for row in stats["by_country"]}
    assert by_country == {"DE": (1, 0), "FR": (1, done.approved_amount), "KE": (1, done.approved_amount)}
    assert [row["key"] for row in stats["by_channel"]] == ["intergovernmental"]
    assert stats["outcomes"] == {"papers": 6, "patents": 2, "standards": 1, "technologies_transferred": 1,
                                 "experts_engaged": 4, "researchers_trained": 5}


def test_statistics_of_an_empty_fund(factory, api):
    stats = api(factory.user("officer")).get("/statistics").json
    assert stats["total"] == {"key": "all", "applications": 0, "funded": 0, "requested_central": 0,
                              "approved_amount": 0, "withheld": False}
    assert stats["by_state"] == [] and set(stats["outcomes"].values()) == {0}


def test_ranking_orders_reviewed_applications_by_mean_score(factory, api):
    call = factory.call()
    # two institutions, each its own panel: an expert reviews one institution's applications once (conflicts)
    low, low_cast = factory.application("expert_review", call=call)
    high, high_cast = factory.application("expert_review", call=call)
    factory.application("formal_review", cast=low_cast, call=call)  # not reviewed: not ranked
    officer = api(low_cast.officer)
    for application, score, recommendation, cast in ((low, 60, "do_not_fund", low_cast), (high, 91, "fund", high_cast)):
        for reviewer in cast.reviewers:
            review = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": reviewer.id})
            path = f"/applications/{application.id}/reviews/{review.json['id']}/transitions"
            assert api(reviewer).post(f"{path}/declare_no_conflict").status_code == 200
            assert api(reviewer).post(f"{path}/submit_review", json={
                "score": score, "opinion": "意见", "recommendation": recommendation}).status_code == 200

    r = officer.get(f"/calls/{call.id}/ranking")
    assert r.status_code == 200
    items = r.json["items"]
    assert [i["application_id"] for i in items] == [high.id, low.id]
    assert [i["rank"] for i in items] == [1, 2]
    assert items[1]["mean_score"] == 60.0 and items[1]["reviews"] == 3
    assert items[0]["mean_score"] == 91.0 and items[0]["state"] == "decision_pending"
    assert items[0]["recommendations"] == {"fund": 3, "fund_with_changes": 0, "do_not_fund": 0}
    assert items[1]["recommendations"] == {"fund": 0, "fund_with_changes": 0, "do_not_fund": 3}


def test_ranking_is_for_the_fund_only(factory, api):
    call = factory.call()
    assert api(factory.user("applicant")).get(f"/calls/{call.id}/ranking").status_code == 403
    assert api(factory.user("officer")).get("/calls/999/ranking").status_code == 404

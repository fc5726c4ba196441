"""The officer's dashboard listing: its page, total and counts by state as the separate services give them."""
from __future__ import annotations

import itertools

from workflow.services import applications as apps


def test_the_dashboard_listing_is_the_list_and_the_counts_read_together(app, factory):
    cast = factory.cast()
    made = [("draft", "energy_resources", "DE"), ("formal_review", "energy_resources", "DE"),
            ("formal_review", "modern_agriculture", "FR"), ("expert_review", "modern_agriculture", "DE"),
            ("rejected", "energy_resources", "FR"), ("approved", "modern_agriculture", "FR")]
    for state, field, country in made:
        factory.application(state, cast=cast, field=field,
                            partners=[{"name": "Partner Institute", "country": country, "kind": "institute"}])
    officer = factory.user("officer")
    states = [None, "formal_review", "approved", "completed"]
    filters = [{}, {"field": "energy_resources"}, {"country": "FR"}, {"field": "modern_agriculture", "country": "DE"}]
    with app.app_context():
        for state, narrowed, (page, per_page) in itertools.product(states, filters, [(1, 50), (1, 2), (2, 2)]):
            items, total, counts = apps.list_with_counts(officer, state=state, page=page, per_page=per_page,
                                                         **narrowed)
            expected_items, expected_total = apps.list_applications(officer, state=state, page=page,
                                                                    per_page=per_page, **narrowed)
            assert [a.id for a in items] == [a.id for a in expected_items], (state, narrowed, page)
            assert total == expected_total and counts == apps.count_by_state(officer, **narrowed)
        # Drafts are the applicant's alone: the officer's total counts the five routed ones.
        assert apps.list_with_counts(officer)[1] == 5

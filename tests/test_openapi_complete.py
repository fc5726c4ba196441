"""Every route under /api/v1, with each of its methods, is in the OpenAPI document, and nothing else is."""
from __future__ import annotations

import re

API = "/api/v1"
NOT_OPERATIONS = {"HEAD", "OPTIONS"}  # werkzeug adds these to every rule
OWN_DOCUMENT = "/openapi.json"  # the document does not describe itself


def _served(app) -> set[tuple[str, str]]:
    """(path as OpenAPI writes it, method) for every API route in the app's URL map."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(API):])
        if path == OWN_DOCUMENT:
            continue
        out |= {(path, method) for method in rule.methods - NOT_OPERATIONS}
    return out


def _documented(client) -> set[tuple[str, str]]:
    doc = client.get(f"{API}/openapi.json").json
    assert doc["servers"] == [{"url": API}]
    return {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_api_route_and_method_is_documented(app):
    served, documented = _served(app), _documented(app.test_client())
    assert len(served) > 40  # the walk found the API, not an empty map
    missing = sorted(served - documented)
    assert not missing, "routes missing from /api/v1/openapi.json: " + ", ".join(f"{m} {p}" for p, m in missing)


def test_nothing_is_documented_that_is_not_served(app):
    stale = sorted(_documented(app.test_client()) - _served(app))
    assert not stale, "documented but not served: " + ", ".join(f"{m} {p}" for p, m in stale)


def test_the_walk_would_catch_an_undocumented_route(app):
    """The test can fail: a route added without an entry is named."""
    app.add_url_rule(f"{API}/applications/<int:app_id>/secret", "undocumented", lambda app_id: "", methods=["PUT"])
    missing = _served(app) - _documented(app.test_client())
    assert ("/applications/{app_id}/secret", "PUT") in missing


def test_the_call_schemas_list_the_guide(app):
    """A call's guide is read and written through the API, so the document names it with its limit."""
    components = app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("CallIn", "CallPatch"):
        props = components[name]["properties"]
        assert props["guide"]["maxLength"] == 20_000 and props["guide_en"]["maxLength"] == 20_000, name
    assert {"guide", "guide_en"} <= set(components["CallOut"]["properties"])

from __future__ import annotations

import modelrouter


def test_exports_are_sorted_and_importable() -> None:
    names = modelrouter.__all__
    assert list(names) == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(modelrouter, name), name


def test_documented_entry_points() -> None:
    from modelrouter.catalog.index import Catalog
    from modelrouter.request.model import RouteRequest
    from modelrouter.router import Router
    from modelrouter.routing.replay import replay

    plan = Router(Catalog.bundled()).route(
        RouteRequest(model="gpt-4o", input_tokens=2000, max_output_tokens=500)
    )
    assert plan.snapshot is not None
    assert replay(plan.snapshot, Catalog.bundled()).matched

"""Pinned digests. A change here must be deliberate: it means every stored
catalog version or plan hash of this shape would stop matching."""

from __future__ import annotations

from modelrouter.catalog.index import Catalog
from modelrouter.router import Router
from tests.conftest import FIXED_NOW, small_document

CATALOG_VERSION = "cat_3df97572f2494e71d19872dd88612eb0"
PLAN_HASH = "sha256:b04f8db03a0b1ff721a71c4063e05fcff0a50de7080f6c37784ee1351508f888"
# Changed deliberately when a decision became one request id of one tenant (a
# retry is the same decision); it no longer hashes the time and the versions.
DECISION_ID = "dec_556f498ba5ab29ac76f60e0b"


def test_catalog_version_is_pinned() -> None:
    assert Catalog.from_layers([("golden", small_document())]).version == CATALOG_VERSION


def test_plan_hash_and_decision_id_are_pinned() -> None:
    router = Router(Catalog.from_layers([("golden", small_document())]), clock=lambda: FIXED_NOW)
    plan = router.route(
        {
            "model": "smart",
            "input_tokens": 2000,
            "max_output_tokens": 500,
            "strategy": "balanced",
            "request_id": "golden-1",
        }
    )
    assert plan.primary.deployment == "gamma/open-70b"
    assert plan.plan_hash == PLAN_HASH
    assert plan.decision_id == DECISION_ID

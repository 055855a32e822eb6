"""The full LiteLLM config, imported, routes as its settings say: a request too
long for gpt-4o goes through its ``context_window_fallbacks``, a content-policy
refusal moves to its content-policy chain, rpm/tpm limits and tags are in
force, ``order`` tiers hold, and the policy fragment's budgets refuse by name."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrouter import BudgetExceeded, NoRouteError
from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.litellm import ImportResult, import_litellm_config
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass
from modelrouter.policy.document import parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router

FIXTURES = Path(__file__).parents[2] / "fixtures" / "litellm"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EU = "contoso-eu/gpt-4o"


@pytest.fixture(scope="module")
def imported() -> ImportResult:
    raw = yaml.safe_load((FIXTURES / "full_config.yaml").read_text())
    return import_litellm_config(raw, Catalog.bundled(), source="full_config.yaml")


@pytest.fixture(scope="module")
def catalog(imported: ImportResult) -> Catalog:
    # As `serve --no-bundled --catalog imported.yaml` runs it: only the config's deployments.
    return Catalog.from_layers([("import", imported.document)])


@pytest.fixture
def router(imported: ImportResult, catalog: Catalog) -> Router:
    return Router(catalog, parse_policy(imported.policy), clock=lambda: NOW)


def route(router: Router, **fields: Any) -> Any:
    request = {"model": "gpt-4o", "input_tokens": 1000, "max_output_tokens": 200, **fields}
    return router.route(request)


def group_of(catalog: Catalog, deployment: str) -> str:
    return next(name for name, alias in catalog.aliases.items() if deployment in alias.targets)


def test_a_200k_token_request_goes_through_the_context_window_fallbacks(
    router: Router, catalog: Catalog
) -> None:
    plan = route(router, input_tokens=200_000)
    assert group_of(catalog, plan.primary.deployment) == "gemini-long"
    fell: dict[str, set[str]] = {}
    for r in plan.rejected:
        fell.setdefault(r.deployment, set()).add(r.code)
    gpt_4o = list(catalog.aliases["gpt-4o"].targets)
    assert len(gpt_4o) == 2 and all("context_window_too_small" in fell[d] for d in gpt_4o)
    assert any("context_window_fallbacks [gemini-long]" in note for note in plan.notes)


def test_a_content_policy_attempt_moves_to_the_content_policy_chain(
    router: Router, catalog: Catalog
) -> None:
    plan = route(router)
    assert plan.primary.deployment == EU
    chain = [hop.deployment for hop in dict(plan.chains)["content_policy"]]
    assert chain and {group_of(catalog, d) for d in chain} == {"claude-sonnet"}
    after = plan.next_hop([EU], ErrorClass.CONTENT_POLICY.value)
    assert after is not None and after.deployment == chain[0]
    # The attempt on the content-policy hop is a hop of the decision: it is priced.
    router.record_attempt(plan, Attempt(deployment=EU, error_class=ErrorClass.CONTENT_POLICY))
    usage = Usage(input_tokens=1000, output_tokens=150)
    served = router.record_attempt(plan, Attempt(deployment=after.deployment, usage=usage))
    assert served is not None and served.total_usd > 0


def test_order_puts_the_anthropic_deployment_before_bedrock(
    router: Router, catalog: Catalog
) -> None:
    plan = route(router, model="claude-sonnet")
    tiers = [hop.deployment.split("-")[0] for hop in plan.chain[:2]]
    assert tiers == ["anthropic", "bedrock"]


def test_tags_select_the_deployments_and_untagged_requests_prefer_default(
    router: Router,
) -> None:
    assert route(router, tags=["eu"]).primary.deployment == EU
    us = route(router, tags=["us"])
    assert us.primary.deployment.startswith("openai-") and EU not in [
        hop.deployment for hop in us.chain if hop.deployment.endswith("/gpt-4o")
    ]
    # The azure deployment carries `default`: untagged traffic goes there first.
    assert route(router).primary.deployment == EU


def test_the_rpm_limit_is_in_force(router: Router) -> None:
    # 600 requests a minute at the EU deployment, then no headroom.
    small = {"input_tokens": 10, "max_output_tokens": 10}
    for n in range(600):
        assert route(router, tags=["eu"], request_id=f"r{n}", **small).primary.deployment == EU
    with pytest.raises(NoRouteError) as refused:
        route(router, tags=["eu"], request_id="r600", **small)
    codes = {r.code for r in refused.value.rejections if r.deployment == EU}
    assert codes == {"rate_limit_headroom"}


def test_the_tpm_limit_is_in_force(router: Router) -> None:
    # 150,000 tokens a minute: one 100k-token request fits, a second does not.
    assert route(router, tags=["eu"], input_tokens=100_000).primary.deployment == EU
    with pytest.raises(NoRouteError) as refused:
        route(router, tags=["eu"], input_tokens=100_000)
    [full] = [r for r in refused.value.rejections if r.code == "rate_limit_headroom"]
    assert "49800 left" in full.message and full.resets_at is not None
    # A request above the whole limit never fits, and says so instead of "more at".
    plan = route(router, input_tokens=200_000)
    [never] = [r for r in plan.rejected if r.code == "rate_limit_headroom"]
    assert "more than its whole limit of 150000" in never.message and never.resets_at is None


def test_the_provider_budget_refuses_naming_itself(router: Router) -> None:
    # provider_budget_config.openai: $100 a day. Once a reply has spent it, an
    # openai-only request is refused naming that budget; anthropic still admits.
    plan = route(router, model="gpt-4o-mini")
    router.record_outcome(plan, Usage(input_tokens=700_000_000, output_tokens=0))  # $105
    with pytest.raises(BudgetExceeded) as refused:
        route(router, model="gpt-4o-mini")
    assert (refused.value.budget, refused.value.scope) == ("provider-openai", "provider")
    assert refused.value.limit == Decimal("100")
    assert route(router, model="claude-sonnet").primary.deployment.startswith("anthropic-")

"""``install``: modelrouter behind a LiteLLM ``Router`` in one call.

::

    import litellm
    from modelrouter.integrations.litellm import install

    router = litellm.Router(model_list=[...])
    plugin = install(router, strategy="cheapest")
    router.completion(model="chat", messages=[...])  # on modelrouter's plan

In process (the default) the strategy routes on a ``Router`` whose catalog
is the LiteLLM router's ``model_list``, imported (prices and limits stated
there, the rest from ``base_catalog``, the bundled catalog by default);
``modelrouter=`` hands in a ``Router`` of your own instead. With ``client=``
(a ``modelrouter.client.Client`` or ``AsyncClient``) it asks the service,
whose catalog must key each deployment by the entry's ``model_info.id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import litellm
from litellm.router import Router as LiteLLMRouter

from modelrouter.catalog.index import Catalog
from modelrouter.client.aio import AsyncClient
from modelrouter.client.sync import Client
from modelrouter.integrations.litellm.backends import Backend, InProcess, OverHttp
from modelrouter.integrations.litellm.callback import ModelRouterCallback
from modelrouter.integrations.litellm.fleet import Fleet, fleet_of, import_fleet
from modelrouter.integrations.litellm.strategy import ModelRouterStrategy
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.router import Router

__all__ = ["install", "uninstall"]

# LiteLLM's lists a logger is copied into when a call starts.
_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


def install(
    router: LiteLLMRouter,
    *,
    strategy: str | None = None,
    platform_policy: PolicyDocument | Mapping[str, Any] | None = None,
    client: Client | AsyncClient | None = None,
    modelrouter: Router | None = None,
    base_catalog: Catalog | None = None,
    tenant_policy: PolicyDocument | None = None,
    tags: bool | None = None,
) -> ModelRouterStrategy:
    """Set modelrouter as ``router``'s routing strategy and register the
    callback that reports its attempts; returns the strategy (its ``router``
    is the in-process ``Router``, None over HTTP). ``strategy`` is each
    request's (``cheapest``, ``fastest``, ``quality``, ``balanced``...);
    ``platform_policy`` the in-process router's policy (budgets, health).
    A request's ``metadata.tags`` are required of its deployments when
    ``tags`` says so, by default when the router has ``enable_tag_filtering``."""
    if client is not None and (modelrouter is not None or platform_policy is not None):
        raise ValueError(
            "client= routes on the service and its policies: give no platform_policy "
            "or modelrouter= with it"
        )
    if modelrouter is not None and platform_policy is not None:
        raise ValueError("modelrouter= already has its platform policy: give no platform_policy")
    backend: Backend
    fleet: Fleet
    if client is not None:
        backend, fleet = OverHttp(client), fleet_of(router.model_list, None)
    elif modelrouter is not None:
        backend = InProcess(modelrouter, tenant_policy)
        fleet = fleet_of(router.model_list, modelrouter.catalog)
    else:
        fleet = import_fleet(
            router.model_list,
            base_catalog if base_catalog is not None else Catalog.bundled(),
            model_group_alias=getattr(router, "model_group_alias", None) or None,
        )
        assert fleet.catalog is not None
        policy = (
            platform_policy
            if isinstance(platform_policy, PolicyDocument)
            else parse_policy(platform_policy, source="platform_policy")
        )
        backend = InProcess(Router(fleet.catalog, policy), tenant_policy)
    chosen = ModelRouterStrategy(router, backend, fleet, strategy=strategy, tags=tags)
    router.set_custom_routing_strategy(chosen)
    callback = ModelRouterCallback(chosen)
    chosen.callback = callback
    litellm.logging_callback_manager.add_litellm_callback(callback)
    return chosen


def uninstall(strategy: ModelRouterStrategy) -> None:
    """Give the router its own routing back and unregister the callback."""
    router = strategy.litellm_router
    for name in ("get_available_deployment", "async_get_available_deployment"):
        bound = router.__dict__.get(name)
        if getattr(bound, "__self__", None) is strategy:
            delattr(router, name)
    callback = strategy.callback
    if callback is None:
        return
    for name in _CALLBACK_LISTS:
        listed = getattr(litellm, name, None)
        if isinstance(listed, list):
            listed[:] = [c for c in listed if c is not callback]
    strategy.callback = None

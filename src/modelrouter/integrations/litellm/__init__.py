"""modelrouter as a LiteLLM plugin: a ``CustomRoutingStrategyBase`` that takes
each deployment from modelrouter's plan, and a ``CustomLogger`` that reports
each attempt back, so that modelrouter's circuits, latency and budgets see
LiteLLM's traffic.

::

    plugin = install(litellm_router, strategy="cheapest")

Importing this package imports ``litellm`` (the ``peers`` extra); nothing
else in modelrouter does.
"""

from modelrouter.integrations.litellm.callback import ModelRouterCallback
from modelrouter.integrations.litellm.fleet import Fleet
from modelrouter.integrations.litellm.plugin import install, uninstall
from modelrouter.integrations.litellm.strategy import ModelRouterStrategy, PlanOutsideRouter

__all__ = [
    "Fleet",
    "ModelRouterCallback",
    "ModelRouterStrategy",
    "PlanOutsideRouter",
    "install",
    "uninstall",
]

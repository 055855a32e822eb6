"""``ModelRouterCallback``: LiteLLM's ``CustomLogger``, reporting each attempt
of the strategy's plans to modelrouter.

LiteLLM calls it once per attempt, after the attempt: on a worker thread for
``router.completion`` (``log_*_event``), as a task for ``router.acompletion``
(``async_log_*_event``). A success is reported with its usage (LiteLLM's
answer, in the OpenAI chat shape) and latency, a failure with the error
class its exception's status code and body give; the circuits, the latency
percentiles and the budgets learn from both. An attempt of another router,
or one reported already, is left alone.
"""

from __future__ import annotations

import logging
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from modelrouter.integrations.litellm.strategy import ModelRouterStrategy

__all__ = ["ModelRouterCallback"]

log = logging.getLogger(__name__)


class ModelRouterCallback(CustomLogger):
    def __init__(self, strategy: ModelRouterStrategy) -> None:
        super().__init__()
        self.strategy = strategy
        # LiteLLM keeps one logger per class and plain attributes: this tells
        # the loggers of two routers apart.
        self.name = f"modelrouter-{id(strategy):x}"

    # A failure to report is logged, never raised into LiteLLM's logging worker:
    # the answer has been given by then.

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            self.strategy.report(kwargs, response_obj, start_time, end_time, failed=False)
        except Exception:
            log.warning("modelrouter: could not report a LiteLLM success", exc_info=True)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            self.strategy.report(kwargs, response_obj, start_time, end_time, failed=True)
        except Exception:
            log.warning("modelrouter: could not report a LiteLLM failure", exc_info=True)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            await self.strategy.areport(kwargs, response_obj, start_time, end_time, failed=False)
        except Exception:
            log.warning("modelrouter: could not report a LiteLLM success", exc_info=True)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            await self.strategy.areport(kwargs, response_obj, start_time, end_time, failed=True)
        except Exception:
            log.warning("modelrouter: could not report a LiteLLM failure", exc_info=True)

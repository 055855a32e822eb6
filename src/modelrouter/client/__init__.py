"""The router from a gateway: an HTTP client, sync and async, and ``run``,
which walks a plan hop by hop and reports every attempt.

::

    from modelrouter.client import Client, ProviderError

    def call(hop):                       # your provider call, once per hop
        answer = http.post(f"{hop.api_base}/chat/completions", json={...})
        if answer.status_code != 200:
            raise ProviderError(answer.status_code, answer.json(), answer.headers)
        return answer.json()

    result = Client().run({"model": "gpt-4o", "messages": [...]}, call)
    result.decision_id, result.hop.deployment, result.actual_cost.total_usd

``Client`` and ``AsyncClient`` speak to the service (``MODELROUTER_URL``,
``MODELROUTER_API_KEY``); ``LocalClient`` runs the same loop over an
in-process ``Router``. Service errors are raised as the library's error tree
(``NoRouteError``, ``BudgetExceeded``...; ``client.errors`` draws it).
Needs ``httpx`` (the ``client`` extra; the ``service`` extra has it too).
"""

from modelrouter.client.aio import AsyncClient
from modelrouter.client.errors import HopsFailed, ServiceError, ServiceUnavailable
from modelrouter.client.hop import AttemptSummary, Hop, ProviderError, Reply
from modelrouter.client.http import Retries
from modelrouter.client.local import LocalClient
from modelrouter.client.models import (
    AttemptAnswer,
    BudgetSpend,
    Decision,
    DecisionCost,
    Estimate,
    EstimatedHop,
    ReportedAttempt,
    Spend,
)
from modelrouter.client.run import RunResult
from modelrouter.client.stream import AsyncStreamRun, StreamRun
from modelrouter.client.sync import Client

__all__ = [
    "AsyncClient",
    "AsyncStreamRun",
    "AttemptAnswer",
    "AttemptSummary",
    "BudgetSpend",
    "Client",
    "Decision",
    "DecisionCost",
    "Estimate",
    "EstimatedHop",
    "Hop",
    "HopsFailed",
    "LocalClient",
    "ProviderError",
    "Reply",
    "ReportedAttempt",
    "Retries",
    "RunResult",
    "ServiceError",
    "ServiceUnavailable",
    "Spend",
    "StreamRun",
]

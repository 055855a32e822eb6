"""Importers for LiteLLM's data: its model cost map (``cost_map``) and its
proxy config (``proxy``), over the fields both share (``fields``).

Both return a catalog document in our schema (see ``catalog/schema.py``), with
warnings, counts of what was skipped and a report (``report``) of what was
kept, converted, dropped and skipped; the proxy importer also a platform-policy
fragment of its settings (``settings``, ``budgets``). Neither opens a file: the caller reads
and parses the JSON or YAML and passes the value.
"""

from modelrouter.catalog.sources.litellm.cost_map import import_litellm_cost_map
from modelrouter.catalog.sources.litellm.fields import ImportResult, provider_from_litellm
from modelrouter.catalog.sources.litellm.proxy import import_litellm_config
from modelrouter.catalog.sources.litellm.report import ImportReport, ReportLine
from modelrouter.catalog.sources.litellm.sniff import sniff, wrong_format

__all__ = [
    "ImportReport",
    "ImportResult",
    "ReportLine",
    "import_litellm_config",
    "import_litellm_cost_map",
    "provider_from_litellm",
    "sniff",
    "wrong_format",
]

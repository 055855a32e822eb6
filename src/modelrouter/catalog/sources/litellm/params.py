"""Which fields of a ``model_list`` entry the proxy importer reads, and why it
drops the others. The report names a dropped field, never its value: LiteLLM
keeps credentials beside everything else in ``litellm_params``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelrouter.catalog.sources.litellm.fields import _CAPABILITIES, _price_field

__all__ = ["ENTRY_FIELDS", "INFO_FIELDS", "PARAM_FIELDS", "dropped_fields", "is_fact"]

ENTRY_FIELDS = frozenset({"model_name", "litellm_params", "model_info", "rpm", "tpm"})
PARAM_FIELDS = frozenset(
    {
        "model",
        "custom_llm_provider",
        "api_key",
        "api_base",
        "api_version",
        "region_name",
        "aws_region_name",
        "vertex_location",
        "weight",
        "order",
        "rpm",
        "tpm",
        "tags",
        "max_budget",
        "budget_duration",
    }
)
INFO_FIELDS = frozenset({"id", "mode", "base_model", "rpm", "tpm"})
_FACTS = frozenset({*_CAPABILITIES, "max_input_tokens", "max_output_tokens", "deprecated"})

_SECRET_WORDS = frozenset(
    {"key", "secret", "token", "password", "credential", "credentials", "fingerprint"}
)
_CALL = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "max_new_tokens",
        "stop",
        "seed",
        "timeout",
        "stream_timeout",
        "max_retries",
        "num_retries",
        "drop_params",
        "additional_drop_params",
        "extra_headers",
        "headers",
        "organization",
        "mock_response",
        "use_in_pass_through",
        "merge_reasoning_content_in_choices",
    }
)
_INFO_REASONS = {
    "max_tokens": "legacy: the output limit for some providers and the input limit for others",
    "deprecation_date": "an import reads no clock; only deprecated: true marks a deprecation",
    "litellm_provider": "the provider comes from litellm_params.model",
    "description": "no field for it",
}


def is_fact(name: str) -> bool:
    """A field ``fields._read_facts`` reads: prices, limits, capabilities."""
    return name in _FACTS or name == "tiered_pricing" or _price_field(name) is not None


def _reason(section: str, name: str) -> str:
    lowered = name.lower()
    if _SECRET_WORDS.intersection(lowered.split("_")) or lowered.startswith(("aws_", "oci_")):
        return "a credential or account setting: the gateway holds it; never copied"
    if section == "model_info":
        return _INFO_REASONS.get(name, "no catalog field for it")
    if name in _CALL:
        return "a call setting: the gateway sends or applies it; the router does not route by it"
    if section == "entry":
        return "not a field of a model_list entry"
    return "no catalog field for it: the gateway applies it if it needs it"


def dropped_fields(
    section: str, values: Mapping[str, Any], read: Iterable[str]
) -> dict[str, list[str]]:
    """reason -> the names of ``values`` that are not read, as ``section.name``."""
    taken = set(read)
    by_reason: dict[str, list[str]] = {}
    for name in values:
        text = str(name)
        if text in taken or (section != "entry" and is_fact(text)):
            continue
        where = text if section == "entry" else f"{section}.{text}"
        by_reason.setdefault(_reason(section, text), []).append(where)
    return by_reason

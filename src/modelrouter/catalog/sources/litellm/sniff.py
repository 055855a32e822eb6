"""Which import format a parsed file looks like, so that the wrong ``--format``
says so instead of importing nothing: a LiteLLM proxy config has a
``model_list``; LiteLLM's cost map has entries priced per token
(``litellm_provider``, ``input_cost_per_token``); our catalog document names
its ``schema`` or has ``providers``/``models``/``aliases``."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any, Literal

__all__ = ["FORMAT_NAMES", "Format", "sniff", "wrong_format"]

Format = Literal["litellm", "litellm-config", "yaml"]
FORMAT_NAMES: dict[Format, str] = {
    "litellm": "a LiteLLM model cost map",
    "litellm-config": "a LiteLLM proxy config",
    "yaml": "a modelrouter catalog document",
}
_COST_FIELDS = ("litellm_provider", "input_cost_per_token", "output_cost_per_token")


def sniff(raw: Any) -> Format | None:
    """The format ``raw`` looks like; None when it looks like none of them."""
    if not isinstance(raw, Mapping):
        return None
    if "model_list" in raw:
        return "litellm-config"
    if raw.get("schema") == "modelrouter.catalog/v1":
        return "yaml"
    # A look at the first entries is enough: the map has thousands.
    entries = [value for key, value in islice(raw.items(), 50) if key != "sample_spec"]
    if any(isinstance(v, Mapping) and any(f in v for f in _COST_FIELDS) for v in entries):
        return "litellm"
    if raw and set(raw) <= {"schema", "providers", "models", "aliases"}:
        return "yaml"
    return None


def wrong_format(raw: Any, given: str) -> str | None:
    """Why ``raw`` is not in format ``given``, naming the one it looks like;
    None when it looks like ``given`` (or like nothing we know)."""
    looks = sniff(raw)
    if looks is None or looks == given:
        return None
    names: dict[str, str] = {str(key): value for key, value in FORMAT_NAMES.items()}
    return (
        f"this file looks like {names[looks]}, not {names.get(given, given)}: "
        f"import it as format {looks}"
    )

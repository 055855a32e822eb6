"""The request bodies people already send, translated into ours.

An OpenAI chat-completions body, OpenRouter's extras on it, or an Anthropic
Messages body can be routed as it is: ``translate`` maps each field it knows
onto ``RouteRequest``'s, and says what it did in ``translation`` (the plan's
notes repeat it, and the snapshot records the translated request, so replay
needs nothing but the snapshot). Sampling fields are accepted and ignored;
a field of none of these shapes is left for validation to refuse by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["translate"]

# Fields that change how a model samples, never where it is served.
SAMPLING = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "n",
        "stop",
        "stop_sequences",
        "presence_penalty",
        "frequency_penalty",
        "repetition_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "parallel_tool_calls",
        "tool_choice",
        "metadata",
        "store",
        "user",
        "stream_options",
        "modalities",
        "audio",
        "prediction",
        "verbosity",
        "min_p",
        "top_a",
        "transforms",
        "usage",
        "reasoning",
        "reasoning_effort",
        "thinking",
        "anthropic_version",
        "web_search_options",
    }
)
_OPENAI_TIERS = {"auto": "standard", "default": "standard", "flex": "flex", "priority": "priority"}
_BLOCK_TYPES = frozenset({"text", "image_url", "input_image", "image", "input_audio", "file"})


def _require(out: dict[str, Any], feature: str) -> None:
    wanted = list(out.get("require") or [])
    if feature not in wanted:
        wanted.append(feature)
    out["require"] = wanted


def _block(part: Any, notes: set[str]) -> Any:
    """A content block our schema knows, or its text for the token estimate."""
    if not isinstance(part, Mapping):
        return part
    kind = part.get("type")
    if not isinstance(kind, str) or kind in _BLOCK_TYPES:
        return part  # ours, or nothing we know: validation says which
    notes.add(f"{kind} content blocks counted as text")
    payload = {k: v for k, v in part.items() if k not in ("type", "id", "cache_control")}
    return {"type": "text", "text": json.dumps(payload, sort_keys=True, default=str)}


def _messages(raw: Any, system: Any, notes: set[str]) -> Any:
    if not isinstance(raw, list):
        return raw
    out: list[Any] = []
    if system is not None:
        text = system
        if isinstance(system, list):
            text = "\n".join(str(b.get("text", "")) for b in system if isinstance(b, Mapping))
        out.append({"role": "system", "content": text})
        notes.add("system prompt taken as a system message")
    for message in raw:
        if isinstance(message, Mapping) and isinstance(message.get("content"), list):
            out.append({**message, "content": [_block(p, notes) for p in message["content"]]})
        else:
            out.append(message)
    return out


def _decimal(value: Any) -> Decimal | None:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return found if found.is_finite() and found >= 0 else None


def _provider(preferences: Any, out: dict[str, Any], notes: list[str]) -> None:
    """OpenRouter's ``provider`` object."""
    if not isinstance(preferences, Mapping):
        out["provider"] = preferences  # not ours to guess: validation names it
        return
    providers = dict(out.get("providers") or {})
    if isinstance(preferences.get("only"), list):
        providers["allow"] = list(preferences["only"])
    if isinstance(preferences.get("ignore"), list):
        providers["deny"] = list(preferences["ignore"])
    if providers:
        out["providers"] = providers
    if preferences.get("allow_fallbacks") is False:
        out["max_fallbacks"] = 0
    data = dict(out.get("data") or {})
    if preferences.get("data_collection") == "deny":
        data["no_training"] = True
    if preferences.get("zdr") is True:
        data["zero_data_retention"] = True
    if data:
        out["data"] = data
    sort = preferences.get("sort")
    if isinstance(sort, Mapping):
        sort = sort.get("by")
    if sort == "price":
        out.setdefault("strategy", "cheapest")
    elif sort in ("throughput", "latency"):
        out.setdefault("strategy", "fastest")
    price = preferences.get("max_price")
    if isinstance(price, Mapping):
        for theirs, ours in (
            ("prompt", "max_input_price_per_mtok"),
            ("completion", "max_output_price_per_mtok"),
            ("request", "max_cost_usd"),
        ):
            value = _decimal(price.get(theirs)) if theirs in price else None
            if value is not None:
                out.setdefault(ours, str(value))
    throughput = preferences.get("preferred_min_throughput")
    if isinstance(throughput, Mapping):
        throughput = throughput.get("p50")
    if (found := _decimal(throughput)) is not None:
        out.setdefault("min_output_tokens_per_s", str(found))
    latency = preferences.get("preferred_max_latency")
    if isinstance(latency, Mapping):
        latency = latency.get("p50")
    if (found := _decimal(latency)) is not None:
        out.setdefault("max_latency_ms", str(found * 1000))  # OpenRouter's are seconds
    ignored = sorted(
        set(preferences)
        - {
            "only",
            "ignore",
            "allow_fallbacks",
            "data_collection",
            "zdr",
            "sort",
            "max_price",
            "preferred_min_throughput",
            "preferred_max_latency",
        }
    )
    if ignored:
        notes.append(f"provider preferences not applied: {', '.join(ignored)}")


def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` in our shape, with ``translation`` listing what was mapped
    (unchanged, without ``translation``, when it already is ours)."""
    out = dict(raw)
    notes: list[str] = []
    blocks: set[str] = set()
    for theirs in ("max_completion_tokens", "max_tokens"):
        if theirs in out:
            value = out.pop(theirs)
            if "max_output_tokens" not in out:
                out["max_output_tokens"] = value
                notes.append(f"{theirs} taken as max_output_tokens")
    system = out.pop("system", None)
    if "messages" in out and (system is not None or isinstance(out["messages"], list)):
        out["messages"] = _messages(out["messages"], system, blocks)
    tools = out.pop("tools", None)
    if tools:
        _require(out, "tools")
        notes.append("tools: requires tools")
    stream = out.pop("stream", None)
    if stream is True:
        _require(out, "streaming")
        notes.append("stream: requires streaming")
    response_format = out.pop("response_format", None)
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        _require(out, "json_schema")
        notes.append("response_format json_schema: requires json_schema")
    tier = out.get("service_tier")
    if isinstance(tier, str) and tier in _OPENAI_TIERS:
        out["service_tier"] = _OPENAI_TIERS[tier]
        if tier != out["service_tier"]:
            notes.append(f"service_tier {tier} taken as {out['service_tier']}")
    if "prompt_cache_key" in out:
        key = out.pop("prompt_cache_key")
        out.setdefault("affinity_key", key)
        notes.append("prompt_cache_key taken as affinity_key")
    models = out.pop("models", None)
    if isinstance(models, list) and models:
        if "model" not in out:
            out["model"], models = models[0], models[1:]
        fallbacks = [m for m in models if m != out.get("model")]
        out["fallback_models"] = [*out.get("fallback_models", []), *fallbacks]
        # OpenRouter tries every model listed: the default chain length does not cut them.
        out.setdefault("max_fallbacks", min(len(fallbacks) + 3, 20))
        notes.append(f"models: {len(fallbacks)} fallback models")
    elif models is not None:
        out["models"] = models
    model = out.get("model")
    if isinstance(model, str):
        base, _, suffix = model.rpartition(":")
        if base and suffix in ("nitro", "floor"):
            out["model"] = base
            out.setdefault("strategy", "fastest" if suffix == "nitro" else "cheapest")
            notes.append(f":{suffix} taken as strategy {out['strategy']}")
    if "provider" in out:
        _provider(out.pop("provider"), out, notes)
    metadata = out.get("metadata")
    # Where LiteLLM's clients put a request's tags.
    if (
        isinstance(metadata, Mapping)
        and isinstance(metadata.get("tags"), list)
        and "tags" not in out
    ):
        out["tags"] = metadata["tags"]
        notes.append("metadata.tags taken as tags")
    ignored = sorted(k for k in out if k in SAMPLING)
    for key in ignored:
        out.pop(key)
    if ignored:
        notes.append(f"ignored (sampling, not routing): {', '.join(ignored)}")
    notes += sorted(blocks)
    if notes:
        out["translation"] = [*out.get("translation", []), *notes]
    return out

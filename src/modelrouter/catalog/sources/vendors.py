"""Guessing a model's vendor from a provider and a hosted model id, for
sources that do not say (genai-prices, LiteLLM's cost map). The curated
overlay and catalog files state vendors; these tables only fill the gaps."""

from __future__ import annotations

import re

__all__ = ["FIRST_PARTY", "NAME_VENDORS", "ORG_VENDORS", "infer_vendor"]

# Organisation prefixes in hosted ids (``meta-llama/...``) -> vendor.
ORG_VENDORS = {
    "meta-llama": "meta",
    "meta": "meta",
    "mistralai": "mistral",
    "qwen": "alibaba",
    "deepseek-ai": "deepseek",
    "deepseek": "deepseek",
    "google": "google",
    "openai": "openai",
    "anthropic": "anthropic",
    "x-ai": "xai",
    "moonshotai": "moonshotai",
    "minimaxai": "minimax",
    "minimax": "minimax",
    "z-ai": "zai",
    "zai-org": "zai",
    "thudm": "zai",
    "nvidia": "nvidia",
    "microsoft": "microsoft",
    "cohere": "cohere",
    "amazon": "amazon",
    "ibm-granite": "ibm",
}
# First-party providers (our ids): the provider made what it serves.
FIRST_PARTY = {
    "openai": "openai",
    "anthropic": "anthropic",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "xai",
    "cohere": "cohere",
    "moonshotai": "moonshotai",
    "zai": "zai",
    "zhipuai": "zai",
    "minimax": "minimax",
    "meta": "meta",
}
# Name prefixes -> vendor, for hosts that serve many vendors' models.
NAME_VENDORS = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("gemma", "google"),
    ("llama", "meta"),
    ("meta-llama", "meta"),
    ("mistral", "mistral"),
    ("mixtral", "mistral"),
    ("codestral", "mistral"),
    ("qwen", "alibaba"),
    ("qwq", "alibaba"),
    ("deepseek", "deepseek"),
    ("grok", "xai"),
    ("command", "cohere"),
    ("kimi", "moonshotai"),
    ("glm", "zai"),
    ("minimax", "minimax"),
    ("nova", "amazon"),
    ("phi-", "microsoft"),
)

_ROUTING_PREFIX = re.compile(r"^(regional|global|us|eu|apac)\.")


def infer_vendor(provider: str, model_id: str) -> str | None:
    """``provider`` is our provider id; ``model_id`` the id as the host writes it
    (``meta-llama/Llama-3.3-70B``, ``anthropic.claude-...-v1:0``, ``gpt-4o``)."""
    lowered = model_id.lower()
    path = lowered.split("/")
    if len(path) > 1 and path[-2] in ORG_VENDORS:
        return ORG_VENDORS[path[-2]]
    if provider == "bedrock":
        org, dot, _ = _ROUTING_PREFIX.sub("", path[-1]).partition(".")
        if dot and "-" not in org:
            return ORG_VENDORS.get(org, org)
    if provider in FIRST_PARTY:
        return FIRST_PARTY[provider]
    for prefix, vendor in NAME_VENDORS:
        if path[-1].startswith(prefix):
            return vendor
    return None

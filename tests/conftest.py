"""Shared fixtures: a small hand-written catalog whose numbers the tests can check by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.router import Router

FIXED_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def small_document() -> dict[str, Any]:
    return {
        "providers": {
            "alpha": {"name": "Alpha", "regions": ["us", "eu"], "data": {"no_training": True}},
            "beta": {
                "name": "Beta",
                "regions": ["us"],
                "data": {"zero_data_retention": True, "no_training": True},
            },
            "gamma": {"name": "Gamma", "regions": ["eu"]},
        },
        "models": {
            "chat-large": {
                "vendor": "acme",
                "context_window": 128000,
                "max_output_tokens": 8192,
                "capabilities": {
                    "streaming": True,
                    "tools": True,
                    "vision": True,
                    "json_schema": True,
                    "reasoning": False,
                },
                "quality": {"score": 1300, "scale": "test-elo"},
                "deployments": {
                    "alpha": {
                        "prices": {"input": "3", "output": "15", "cache_read": "0.3"},
                        "latency": {"ttft_ms": 400, "output_tokens_per_s": 80},
                    },
                    "beta": {
                        "prices": {"input": "2.5", "output": "10"},
                        "latency": {"ttft_ms": 900, "output_tokens_per_s": 40},
                    },
                    "gamma": {
                        "prices": {"input": "2.5", "output": "10"},
                        "capabilities": {"json_schema": False},
                    },
                },
            },
            "chat-small": {
                "vendor": "acme",
                "context_window": 32000,
                "max_output_tokens": 4096,
                "capabilities": {"streaming": True, "tools": False, "vision": False},
                "quality": {"score": 1150, "scale": "test-elo"},
                "deployments": {
                    "alpha": {
                        "prices": {"input": "0.15", "output": "0.6"},
                        "latency": {"ttft_ms": 200, "output_tokens_per_s": 150},
                    },
                    "beta": {"prices": {"input": "0.1", "output": "0.4"}},
                },
            },
            "open-70b": {
                "vendor": "meta",
                "context_window": 131072,
                "capabilities": {"streaming": True, "tools": True},
                "quality": {"score": 1250, "scale": "test-elo"},
                "deployments": {
                    "alpha": {"prices": {"input": "0.9", "output": "0.9"}},
                    "gamma": {
                        "prices": {"input": "0.6", "output": "0.8"},
                        "latency": {"ttft_ms": 300, "output_tokens_per_s": 300},
                    },
                },
            },
            "unpriced": {
                "vendor": "acme",
                "context_window": 8000,
                "deployments": {"beta": {}},
            },
        },
        "aliases": {
            "smart": ["chat-large", "open-70b"],
            "budget": ["chat-small", "gamma/open-70b"],
        },
    }


@pytest.fixture
def small_catalog() -> Catalog:
    return Catalog.from_layers([("small", small_document())])


@pytest.fixture
def router(small_catalog: Catalog) -> Router:
    return Router(small_catalog, clock=lambda: FIXED_NOW)


@pytest.fixture(scope="session")
def bundled() -> Catalog:
    return Catalog.bundled()

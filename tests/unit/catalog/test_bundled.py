"""The bundled catalog: built offline from genai-prices and the curated overlay."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from modelrouter.catalog.index import Catalog


def test_prices_at_least_1500_deployments(bundled: Catalog) -> None:
    priced = [d for d in bundled.deployments.values() if d.prices is not None]
    assert len(priced) >= 1500
    assert len(priced) == len(bundled.deployments)  # nothing enters unpriced


def test_builds_without_network() -> None:
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise RuntimeError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from modelrouter import Catalog, Router
        catalog = Catalog.bundled()
        plan = Router(catalog).route({"model": "gpt-4o", "input_tokens": 100})
        print(len(catalog.deployments), plan.primary.deployment)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[0]) >= 1500


def test_default_aliases_span_providers(bundled: Catalog) -> None:
    gpt4o = {d.provider for d in bundled.lookup_target("gpt-4o")}
    assert {"openai", "azure"} <= gpt4o
    sonnet = bundled.alias_deployments("claude-sonnet")
    assert sonnet is not None
    assert {"anthropic", "bedrock", "vertex"} <= {d.provider for d in sonnet}
    llama = bundled.alias_deployments("llama-3.1-70b")
    assert llama is not None
    assert len({d.provider for d in llama}) >= 4


def test_curated_models_carry_sourced_quality_and_capabilities(bundled: Catalog) -> None:
    curated = [m for m in bundled.models.values() if m.quality is not None]
    assert len(curated) >= 30
    scales = {m.quality.scale for m in curated if m.quality}
    assert len(scales) == 1  # one scale, or scores would not compare
    for model in curated:
        assert model.quality is not None
        assert model.quality.source and model.quality.as_of
    gpt4o = bundled.deployments["openai/gpt-4o"]
    assert gpt4o.capabilities.tools is True and gpt4o.context_window == 128000
    assert gpt4o.latency is not None


def test_at_least_60_curated_chat_models(bundled: Catalog) -> None:
    known_caps = [
        m
        for m in bundled.models
        if any(d.capabilities.tools is not None for d in bundled.deployments_of(m))
    ]
    assert len(known_caps) >= 60


def test_tiered_long_context_prices_survive_the_import(bundled: Catalog) -> None:
    prices = bundled.deployments["google/gemini-2.5-pro"].prices
    assert prices is not None
    standard = prices.rules[0].sheet
    assert standard.input is not None and standard.input.tiers
    assert standard.input.tiers[0][0] == 200_000


def test_bundled_is_built_once(bundled: Catalog) -> None:
    assert Catalog.bundled() is bundled

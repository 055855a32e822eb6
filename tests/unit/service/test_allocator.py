"""The malloc arena limit a worker sets before its threads start."""

from __future__ import annotations

import os
import sys

import pytest
from pydantic import ValidationError

from modelrouter.service.allocator import limit_for_workers, limit_malloc_arenas
from modelrouter.service.settings import Settings


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_glibc_takes_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(2) is True


def test_zero_leaves_the_default() -> None:
    assert limit_malloc_arenas(0) is False


def test_an_operators_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False


def test_the_setting_defaults_to_two_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELROUTER_MALLOC_ARENAS", raising=False)
    assert Settings().malloc_arenas == 2
    monkeypatch.setenv("MODELROUTER_MALLOC_ARENAS", "0")
    assert Settings().malloc_arenas == 0
    for bad in ("-1", "65", "two"):
        monkeypatch.setenv("MODELROUTER_MALLOC_ARENAS", bad)
        with pytest.raises(ValidationError, match="malloc_arenas"):
            Settings()


def test_the_worker_processes_inherit_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Recorded first (set, then taken out), so the test's own setting is undone after it.
    monkeypatch.setenv("MALLOC_ARENA_MAX", "1")
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    limit_for_workers(2)
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "6")  # the operator's
    limit_for_workers(2)
    assert os.environ["MALLOC_ARENA_MAX"] == "6"
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    limit_for_workers(0)
    assert "MALLOC_ARENA_MAX" not in os.environ

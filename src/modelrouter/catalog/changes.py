"""Is a new catalog version safe to put in force? ``check_change`` compares two
catalogs and returns the problems an operator must see before a swap:

- ``price_moved``: a rate in force now moved up or down by more than a factor
  (a price map that dropped a digit, a per-token price read per million);
- ``price_removed``: a rate that was known is unknown in the new catalog;
- ``alias_emptied``: an alias that had deployments resolves to none, or is gone;
- ``model_removed``: a model that had deployments has none, and an alias names it.

A deployment that simply disappears is not a problem unless an alias loses
everything through it. ``summary`` counts what changed, for ``config check``
and the refresh endpoint. Pure: the time the prices are read at is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.catalog.prices import PriceSheet, Rate
from modelrouter.money import exact_str
from modelrouter.pricing.units import BY_NAME, UNIT_NAMES

__all__ = ["DEFAULT_MAX_PRICE_FACTOR", "Problem", "check_change", "summary"]

DEFAULT_MAX_PRICE_FACTOR = Decimal(5)


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # price_moved, price_removed, alias_emptied, model_removed
    subject: str  # the deployment, alias or model it is about
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "subject": self.subject, "message": self.message}


def check_change(
    old: Catalog,
    new: Catalog,
    *,
    at: datetime,
    max_price_factor: Decimal | None = DEFAULT_MAX_PRICE_FACTOR,
) -> list[Problem]:
    """Every problem of swapping ``old`` for ``new``, with prices compared as in
    force at ``at``; ``max_price_factor=None`` skips the price checks."""
    problems: list[Problem] = []
    if max_price_factor is not None:
        if max_price_factor < 1:
            raise ValueError(f"max_price_factor must be at least 1, got {max_price_factor}")
        problems += _price_problems(old, new, at, max_price_factor)
    problems += _alias_problems(old, new)
    problems += _model_problems(old, new)
    return problems


# -- prices ------------------------------------------------------------------------


def _sheet(catalog: Catalog, deployment_id: str, at: datetime) -> PriceSheet | None:
    schedule = catalog.deployments[deployment_id].prices
    return None if schedule is None else schedule.resolve(at).sheet


def _per(unit: str) -> str:
    return "USD per request" if BY_NAME[unit].side == "request" else "USD per million tokens"


def _points(old: Rate, new: Rate) -> Iterator[tuple[int, str]]:
    """(input tokens, label) at which the two rates are compared: the base rate
    and every tier threshold either has."""
    yield 0, ""
    for threshold in sorted({t for t, _ in old.tiers} | {t for t, _ in new.tiers}):
        yield threshold + 1, f" above {threshold} input tokens"


def _times(value: Decimal, factor: Decimal) -> Decimal:
    # Enough digits for the whole product: the comparison is exact.
    digits = len(value.as_tuple().digits) + len(factor.as_tuple().digits) + 1
    return Context(prec=digits).multiply(value, factor)


def _factor_text(high: Decimal, low: Decimal) -> str:
    shown = Context(prec=4).divide(high, low)
    exact = _times(shown, low) == high
    return f"{'' if exact else 'about '}{exact_str(shown)}"


def _moved(deployment: str, unit: str, old: Rate, new: Rate, factor: Decimal) -> Problem | None:
    for tokens, label in _points(old, new):
        before, after = old.at(tokens), new.at(tokens)
        if before == after:
            continue
        what = (
            f"deployment {deployment}: the {unit} price{label} moved from "
            f"{exact_str(before)} to {exact_str(after)} {_per(unit)}"
        )
        if before.is_zero() or after.is_zero():
            change = "became priced" if before.is_zero() else "became free"
            return Problem(
                "price_moved", deployment, f"{what} (a rate that {change}: no finite factor)"
            )
        if after > _times(before, factor) or before > _times(after, factor):
            high, low = max(before, after), min(before, after)
            direction = "up" if after > before else "down"
            return Problem(
                "price_moved",
                deployment,
                f"{what}: {_factor_text(high, low)}x {direction}, more than the allowed "
                f"factor {exact_str(factor)}",
            )
    return None


def _price_problems(old: Catalog, new: Catalog, at: datetime, factor: Decimal) -> list[Problem]:
    problems: list[Problem] = []
    for deployment in sorted(old.deployments.keys() & new.deployments.keys()):
        before = _sheet(old, deployment, at)
        if before is None:
            continue
        after = _sheet(new, deployment, at)
        for unit in UNIT_NAMES:
            rate = before.rate(unit)
            if rate is None:
                continue
            now = after.rate(unit) if after is not None else None
            if now is None:
                problems.append(
                    Problem(
                        "price_removed",
                        deployment,
                        f"deployment {deployment}: the {unit} price was {_rate_text(rate)} "
                        f"{_per(unit)} and is unknown in the new catalog",
                    )
                )
                continue
            moved = _moved(deployment, unit, rate, now, factor)
            if moved is not None:
                problems.append(moved)
    return problems


def _rate_text(rate: Rate) -> str:
    tiers = "".join(
        f"; above {threshold} input tokens: {exact_str(value)}" for threshold, value in rate.tiers
    )
    return exact_str(rate.base) + tiers


# -- aliases and models -------------------------------------------------------------


def _ids(deployments: tuple[Deployment, ...] | None) -> list[str]:
    return sorted(d.id for d in deployments or ())


def _alias_problems(old: Catalog, new: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for name in sorted(old.aliases):
        had = _ids(old.alias_deployments(name))
        if not had:
            continue
        lost = ", ".join(had)
        if name not in new.aliases:
            message = f"alias {name!r} is gone from the new catalog; it routed to {lost}"
        elif not new.alias_deployments(name):
            message = f"alias {name!r} resolves to no deployment in the new catalog; it lost {lost}"
        else:
            continue
        problems.append(Problem("alias_emptied", name, message))
    return problems


def _naming(old: Catalog, catalog: Catalog, model: str) -> set[tuple[str, str]]:
    """(alias, target) of the aliases of ``catalog`` that name ``model``: as its
    id, as provider/model or as one of its deployments (read in ``old``, where
    the model still has them)."""
    found: set[tuple[str, str]] = set()
    for alias in catalog.aliases.values():
        for target in alias.targets:
            if target == model or any(d.model == model for d in old.lookup_target(target)):
                found.add((alias.name, target))
    return found


def _model_problems(old: Catalog, new: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for model in sorted(old.models):
        if not old.deployments_of(model) or new.deployments_of(model):
            continue
        named = _naming(old, old, model) | _naming(old, new, model)
        if not named:
            continue
        state = (
            "is no longer in the catalog"
            if model not in new.models
            else "has no deployment left in the new catalog"
        )
        by = " and ".join(
            f"alias {alias!r}" + ("" if target == model else f" (as {target!r})")
            for alias, target in sorted(named)
        )
        problems.append(
            Problem(
                "model_removed",
                model,
                f"model {model!r} {state}, but it is named by {by}; it had "
                f"{', '.join(_ids(old.deployments_of(model)))}",
            )
        )
    return problems


# -- summary -------------------------------------------------------------------------


def _price_changes(old: Catalog, new: Catalog, at: datetime) -> list[dict[str, str | None]]:
    changes: list[dict[str, str | None]] = []
    for deployment in sorted(old.deployments.keys() & new.deployments.keys()):
        before, after = _sheet(old, deployment, at), _sheet(new, deployment, at)
        for unit in UNIT_NAMES:
            was = before.rate(unit) if before is not None else None
            now = after.rate(unit) if after is not None else None
            if was != now:
                changes.append(
                    {
                        "deployment": deployment,
                        "unit": unit,
                        "old": None if was is None else _rate_text(was),
                        "new": None if now is None else _rate_text(now),
                    }
                )
    return changes


def summary(old: Catalog, new: Catalog, *, at: datetime) -> dict[str, Any]:
    """What changed from ``old`` to ``new``: deployments added, removed and
    changed, the prices in force at ``at`` that changed (old and new rates as
    text, None for unknown), and the aliases added, removed or re-resolved."""
    before, after = old.deployments.keys(), new.deployments.keys()
    added = sorted(after - before)
    removed = sorted(before - after)
    changed = sorted(d for d in before & after if old.deployments[d] != new.deployments[d])
    prices = _price_changes(old, new, at)
    aliases_added = sorted(new.aliases.keys() - old.aliases.keys())
    aliases_removed = sorted(old.aliases.keys() - new.aliases.keys())
    aliases_changed = sorted(
        name
        for name in old.aliases.keys() & new.aliases.keys()
        if old.aliases[name] != new.aliases[name]
        or _ids(old.alias_deployments(name)) != _ids(new.alias_deployments(name))
    )
    return {
        "old_version": old.version,
        "new_version": new.version,
        "counts": {
            "deployments_added": len(added),
            "deployments_removed": len(removed),
            "deployments_changed": len(changed),
            "price_changes": len(prices),
            "aliases_added": len(aliases_added),
            "aliases_removed": len(aliases_removed),
            "aliases_changed": len(aliases_changed),
        },
        "deployments": {"added": added, "removed": removed, "changed": changed},
        "price_changes": prices,
        "aliases": {
            "added": aliases_added,
            "removed": aliases_removed,
            "changed": aliases_changed,
        },
    }

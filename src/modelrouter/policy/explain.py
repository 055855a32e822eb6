"""Explaining the meet: each tenant setting the platform narrowed or overruled,
and why (``modelrouter policy check`` prints these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelrouter.encoding import to_jsonable
from modelrouter.policy.document import ListRule, PolicyDocument, matches_any
from modelrouter.policy.effective import EffectiveList

__all__ = ["Override", "explain_overrides"]


@dataclass(frozen=True, slots=True)
class Override:
    """A tenant setting the platform narrowed or overruled, and why."""

    field: str
    tenant: Any
    effective: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "tenant": to_jsonable(self.tenant),
            "effective": to_jsonable(self.effective),
            "reason": self.reason,
        }


def _list_overrides(name: str, platform: ListRule, tenant: ListRule) -> list[Override]:
    found: list[Override] = []
    for pattern in tenant.allow or ():
        if platform.deny and matches_any(pattern, platform.deny):
            found.append(
                Override(
                    f"{name}.allow",
                    pattern,
                    None,
                    f"the platform denies {pattern} ({', '.join(platform.deny)})",
                )
            )
        elif platform.allow is not None and not matches_any(pattern, platform.allow):
            found.append(
                Override(
                    f"{name}.allow",
                    pattern,
                    None,
                    f"the platform allows only {', '.join(platform.allow)}",
                )
            )
    return found


def _cap_override(field: str, platform: Any, tenant: Any) -> list[Override]:
    if tenant is not None and platform is not None and tenant > platform:
        return [Override(field, tenant, platform, f"the platform caps it at {platform}")]
    return []


def explain_overrides(platform: PolicyDocument, tenant: PolicyDocument) -> list[Override]:
    """Every tenant setting that does not take effect as written, with the
    platform rule that overrules it. Deny-lists and stricter settings always
    take effect, so they never appear here."""
    found: list[Override] = []
    for name in ("providers", "vendors", "models", "regions"):
        found += _list_overrides(name, getattr(platform, name), getattr(tenant, name))
    for flag in ("zero_data_retention", "no_training"):
        if (
            getattr(platform.data, flag)
            and tenant.data.model_fields_set & {flag}
            and not getattr(tenant.data, flag)
        ):
            found.append(Override(f"data.{flag}", False, True, f"the platform requires {flag}"))
    if tenant.capabilities.allow_unknown and platform.capabilities.allow_unknown is not True:
        found.append(
            Override(
                "capabilities.allow_unknown",
                True,
                False,
                "the platform does not admit unknown capabilities",
            )
        )
    for cap in (
        "max_cost_per_request_usd",
        "max_input_price_per_mtok",
        "max_output_price_per_mtok",
        "max_fallbacks",
    ):
        found += _cap_override(
            f"limits.{cap}", getattr(platform.limits, cap), getattr(tenant.limits, cap)
        )
    for alias, targets in tenant.aliases.items():
        for target in targets:
            provider, _, model = target.rpartition("/")
            names = [target, model] if provider else [target]
            verdict = EffectiveList.of(platform.models).verdict(*names)
            provider_ok = not provider or EffectiveList.of(platform.providers).verdict(
                provider
            ) == (True, False)
            if verdict != (True, False) or not provider_ok:
                found.append(
                    Override(
                        f"aliases.{alias}",
                        target,
                        "rejected on every route",
                        f"the platform's models or providers rules reject {target}",
                    )
                )
    return found

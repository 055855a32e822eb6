"""A proxy config's names for its deployments, as our aliases: one per model
group (also a group with a model's name: the alias then means the group),
one per model a prefixed wildcard group reaches (``gemini/*``), one per
``router_settings.model_group_alias``; and the fallback chains the settings
give them (see ``settings``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from modelrouter.catalog.sources.litellm.fields import _NAME
from modelrouter.catalog.sources.litellm.report import ReportBuilder
from modelrouter.catalog.sources.litellm.settings import convert_settings
from modelrouter.catalog.sources.litellm.wildcards import alias_prefix

__all__ = ["Aliases", "Reached", "build_aliases"]

Alias = list[str] | dict[str, Any]


class Reached(NamedTuple):
    """One deployment a wildcard entry reaches."""

    model_id: str
    deployment_id: str
    provider: str


@dataclass
class Aliases:
    aliases: dict[str, Alias]
    policy: dict[str, Any]  # the settings' policy fragment


def build_aliases(
    raw: Mapping[str, Any],
    groups: Mapping[str, list[str]],
    wildcards: Sequence[tuple[str, list[Reached]]],
    models: Mapping[str, Mapping[str, Any]],
    report: ReportBuilder,
) -> Aliases:
    aliases: dict[str, Alias] = {}
    for group, targets in groups.items():
        aliases[group] = list(targets)
        if group in models:
            own = {f"{key}/{group}" for key in models[group]["deployments"]}
            others = sorted(own - set(targets))
            also = (
                f"; model {group}'s other deployments ({', '.join(others)}) are reached "
                "by their ids and provider/model names"
                if others
                else ""
            )
            report.converted(
                f"model_name {group}",
                f"group {group} has the name of model {group}: imported as an alias of its "
                f"{_count(len(targets))}, which a request for {group} means{also}",
            )
        else:
            report.kept(f"model_name {group}", f"alias of {_count(len(targets))}")
    _wildcard_aliases(wildcards, aliases, report)
    table = _group_alias_table(raw, groups, aliases, report)
    for alias, group in table.items():
        aliases[alias] = list(groups[group])

    def known(name: str) -> bool:
        if name in aliases or name in models:
            return True
        provider, sep, model = name.partition("/")
        deployments = models.get(model, {}).get("deployments", {}) if sep else {}
        return any(spec.get("provider", key) == provider for key, spec in deployments.items())

    settings = convert_settings(raw, list(groups), known, report)
    for name, chains in settings.chains.items():
        current = aliases.get(name, [name])
        targets = current["targets"] if isinstance(current, dict) else current
        aliases[name] = {"targets": list(targets), **chains}
    for alias, group in table.items():
        # The alias is the group under another name: its chains too.
        spec = aliases[group]
        if isinstance(spec, dict):
            aliases[alias] = dict(spec)
    return Aliases(aliases, settings.policy)


def _count(deployments: int) -> str:
    return f"{deployments} deployment" + ("" if deployments == 1 else "s")


def _wildcard_aliases(
    wildcards: Sequence[tuple[str, list[Reached]]],
    aliases: dict[str, Alias],
    report: ReportBuilder,
) -> None:
    for group, reached in wildcards:
        providers = {deployment.provider for deployment in reached}
        prefix = alias_prefix(group, providers)
        if prefix is None:
            reach = (
                "its model ids"
                if group == "*"
                else f"{'/'.join(sorted(providers))}/<model> (provider/model)"
            )
            report.converted(f"model_name {group}", f"no alias needed: requests name {reach}")
            continue
        made: dict[str, list[str]] = {}
        for deployment in reached:
            name = f"{prefix}{deployment.model_id}"
            # A group of that name says what it means: the wildcard does not add to it.
            if _NAME.match(name) and name not in aliases:
                made.setdefault(name, []).append(deployment.deployment_id)
        aliases.update(made)
        report.converted(
            f"model_name {group}",
            f"{len(made)} aliases {prefix}<model>, one per model the wildcard reaches",
        )


def _group_alias_table(
    raw: Mapping[str, Any],
    groups: Mapping[str, list[str]],
    aliases: Mapping[str, Alias],
    report: ReportBuilder,
) -> dict[str, str]:
    """``router_settings.model_group_alias: {alias: group}`` (or ``{alias: {model: group}}``)."""
    settings = raw.get("router_settings")
    table = settings.get("model_group_alias") if isinstance(settings, Mapping) else None
    if table is None:
        return {}
    subject = "router_settings.model_group_alias"
    if not isinstance(table, Mapping):
        report.skipped(subject, "must be a mapping of alias: model group")
        return {}
    read: dict[str, str] = {}
    for alias, value in table.items():
        group = value.get("model") if isinstance(value, Mapping) else value
        where = f"{subject}.{alias}"
        if not isinstance(alias, str) or not _NAME.match(alias):
            report.skipped(where, f"{alias!r} is not a name without spaces")
        elif alias in aliases:
            report.skipped(where, f"{alias!r} is already a model group")
        elif not isinstance(group, str) or group not in groups:
            report.skipped(where, f"{group!r} is not a model group of model_list")
        else:
            read[alias] = group
            report.converted(where, f"alias {alias} of model group {group}")
    return read

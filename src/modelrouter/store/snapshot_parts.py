"""What many decisions' snapshots share, stored once.

Every decision routed under one policy stack records the same policy
documents and the same effective policy. A stored decision names them by
the digest of their content (``inputs.policy_ref``) instead of copying them
into its row; ``snapshot_parts`` holds each content once, and ``join``
rebuilds the snapshot the plan carried, key for key and in its order, for
replay and export. Rows written before this (whole snapshots) read as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from modelrouter.encoding import json_hash

__all__ = ["SHARED", "digest_of", "join", "split"]

# The inputs a policy stack determines, in the order PlanInputs.to_dict writes them.
SHARED = ("policy", "effective_policy")
_REF = "policy_ref"


def digest_of(part: Mapping[str, Any]) -> str:
    return "sha256:" + json_hash(part)


def split(
    snapshot: Mapping[str, Any], digest: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the snapshot naming its shared part, that part with its digest).
    ``digest`` is the part's digest when the caller knows it (a policy stack
    computes it once); otherwise it is computed here."""
    inputs = snapshot["inputs"]
    content = {key: inputs[key] for key in SHARED}
    digest = digest or digest_of(content)
    compact: dict[str, Any] = {}
    for key, value in inputs.items():
        if key == "policy":
            compact[_REF] = digest
        elif key not in SHARED:
            compact[key] = value
    return {**snapshot, "inputs": compact}, {"digest": digest, "content": content}


def join(
    stored: Mapping[str, Any], part: Callable[[str], Mapping[str, Any] | None]
) -> dict[str, Any]:
    """The snapshot as the plan carried it: ``part(digest)`` gives a shared
    part's content. A snapshot stored whole is returned as it is."""
    inputs = stored.get("inputs")
    if not isinstance(inputs, Mapping) or _REF not in inputs:
        return dict(stored)
    digest = inputs[_REF]
    content = part(digest)
    if content is None:
        raise LookupError(f"snapshot part {digest} is not stored")
    whole: dict[str, Any] = {}
    # PlanInputs.to_dict's order: request, catalog_version, policy, policy_version,
    # policy_versions, effective_policy, ... (the stale markers come first).
    for key, value in inputs.items():
        if key == _REF:
            whole["policy"] = content["policy"]
        else:
            whole[key] = value
            if key == "policy_versions":
                whole["effective_policy"] = content["effective_policy"]
    if "effective_policy" not in whole:
        whole["effective_policy"] = content["effective_policy"]
    return {**stored, "inputs": whole}

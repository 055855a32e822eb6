"""Turning pydantic's validation errors into one message that names the field."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["field_path", "first_problem"]


def field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(str(part))
    return "".join(parts)


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """(field path, message) of the first error, with a count of the others.

    Union branches make pydantic report one error per branch tried; the
    shortest path is the one a person can act on."""
    errors = exc.errors(include_url=False)
    # Of a union's failed branches, the one that got deepest is the one that
    # matched the shape of the input; its error is the one worth reading.
    errors.sort(key=lambda e: (-len(_plain(e["loc"])), field_path(_plain(e["loc"]))))
    first = errors[0]
    loc = _plain(first["loc"])
    message = str(first["msg"])
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field is missing"
    others = len({field_path(tuple(e["loc"])) for e in errors}) - 1
    if others > 0:
        message += f" (and {others} more problem{'s' if others > 1 else ''})"
    return field_path(loc) or "(document)", message


def _plain(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Pydantic appends the union branch name (e.g. "decimal", "RateSpec") to locs.
    return tuple(part for part in loc if not _is_branch_tag(part))


def _is_branch_tag(part: int | str) -> bool:
    return isinstance(part, str) and (
        part in {"decimal", "int", "str", "float", "bool", "list", "dict", "none"}
        or part.endswith("Spec")
        or part.startswith(("function-", "tuple[", "list[", "dict["))
    )

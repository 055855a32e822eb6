"""Frozen dataclasses that are quick to make.

The ``__init__`` that ``dataclass(frozen=True)`` writes sets every field with
``object.__setattr__`` (the class's own refuses): a global look-up, an
attribute look-up and a call for each field. A route makes a normalised
request (38 fields), a plan, its candidates and their estimates, and that
``__init__`` alone was a tenth of the route. ``quick_init`` gives the class
one that stores each field directly (through the slot's descriptor, or into
the instance's ``__dict__``), with the same parameters, defaults and
``__post_init__`` call. The class stays frozen: assigning to a field still
raises ``FrozenInstanceError``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

__all__ = ["quick_init"]

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace a frozen dataclass's ``__init__`` with a quicker equivalent.
    Apply it outside ``@dataclass``; fields with ``init=False`` or a
    ``default_factory``, and ``InitVar`` pseudo-fields, are refused (none of
    the records it is for has them)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"quick_init is for frozen dataclasses, not {cls.__qualname__}")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    generated = list(inspect.signature(cls.__init__).parameters)[1:]
    if generated != [f.name for f in fields]:  # an InitVar, or an __init__ of its own
        raise TypeError(f"{cls.__qualname__}: quick_init takes plain fields only")
    slotted = "__slots__" in cls.__dict__
    scope: dict[str, Any] = {}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for field in fields:
        name = field.name
        # (A field with init=False is not in the generated signature: refused above.)
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__qualname__}.{name}: quick_init takes plain fields only")
        param = name
        if field.default is not dataclasses.MISSING:
            scope[f"_default_{name}"] = field.default
            param = f"{name}=_default_{name}"
        (keyword if field.kw_only else positional).append(param)
        if slotted:
            scope[f"_set_{name}"] = cls.__dict__[name].__set__
            body.append(f"    _set_{name}(self, {name})")
        else:
            body.append(f"    d[{name!r}] = {name}")
    if not slotted:
        body.insert(0, "    d = self.__dict__")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}) -> None:\n" + "\n".join(body or ["    pass"])
    exec(source, scope)  # what dataclasses itself does to write __init__
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls

"""``quick_init``: the same records as the dataclass's own ``__init__``, still frozen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.frozen import quick_init


def plain() -> type:
    @dataclass(frozen=True, slots=True)
    class Plain:
        a: int
        b: str | None
        c: tuple[str, ...] = ()
        d: Decimal | None = None

    return Plain


Plain = plain()
Quick: Any = quick_init(plain())


@quick_init
@dataclass(frozen=True)
class WithDict:
    a: int
    b: int = 2

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a must be at least 0")


values = st.tuples(
    st.integers(),
    st.none() | st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=3).map(tuple),
    st.none() | st.decimals(allow_nan=False, allow_infinity=False),
)


@given(values, st.integers(0, 4))
def test_the_same_fields_from_positional_and_keyword_arguments(
    args: tuple[Any, ...], given_count: int
) -> None:
    names = ["a", "b", "c", "d"][given_count:]
    positional = args[:given_count]
    keywords = dict(zip(names, args[given_count:], strict=True))
    expected = Plain(*positional, **keywords)
    made = Quick(*positional, **keywords)
    assert dataclasses.astuple(made) == dataclasses.astuple(expected)
    assert made == Quick(*args) and hash(made) == hash(Quick(*args))


def test_defaults_and_missing_arguments_as_the_dataclass_has_them() -> None:
    assert dataclasses.astuple(Quick(1, None)) == (1, None, (), None)
    with pytest.raises(TypeError):
        Quick(1)
    with pytest.raises(TypeError):
        Quick(1, None, e=3)


def test_still_frozen_and_replace_works() -> None:
    made = Quick(1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.a = 2
    assert dataclasses.replace(made, a=5) == Quick(5, "x")


def test_post_init_runs_on_a_class_with_a_dict() -> None:
    assert WithDict(1).b == 2
    with pytest.raises(ValueError, match="a must be at least 0"):
        WithDict(-1)


def test_refuses_what_it_does_not_reproduce() -> None:
    @dataclass
    class Mutable:
        a: int

    with pytest.raises(TypeError, match="frozen"):
        quick_init(Mutable)

    @dataclass(frozen=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    with pytest.raises(TypeError, match="plain fields"):
        quick_init(Factory)

    @dataclass(frozen=True)
    class Hidden:
        a: int
        b: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="plain fields"):
        quick_init(Hidden)

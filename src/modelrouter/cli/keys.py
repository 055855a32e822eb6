"""``modelrouter keys``: create (the key is printed once), list, revoke."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from modelrouter.cli.common import fail, handle_errors, out
from modelrouter.store.database import create_engine_for, database_url, redact, upgrade
from modelrouter.store.keys import KeyInfo, KeyStore

__all__ = ["app"]

app = typer.Typer(help="API keys for the HTTP service.", no_args_is_help=True)

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"(?:\d+[wdhms])+")
_PART = re.compile(r"(\d+)([wdhms])")


@contextmanager
def _store(action: str) -> Iterator[KeyStore]:
    """The key store of MODELROUTER_DATABASE_URL, brought up to date; any
    failure is one line naming the database (without its password)."""
    url = database_url()
    engine = create_engine_for(url)
    try:
        upgrade(engine)
        with handle_errors():
            yield KeyStore(engine)
    except typer.Exit:
        raise
    except Exception as exc:  # a driver error becomes one clear line
        fail(f"cannot {action} in {redact(url)}: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def _duration(text: str) -> timedelta:
    compact = text.strip().lower()
    if not _DURATION.fullmatch(compact):
        fail(f"--expires-in {text!r} is not a duration such as 30d, 12h, 90m or 1w2d")
    try:
        return sum(
            (timedelta(**{_UNITS[unit]: int(n)}) for n, unit in _PART.findall(compact)),
            timedelta(),
        )
    except OverflowError:
        fail(f"--expires-in {text!r} is too long")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--expires-at {text!r} is not an ISO 8601 date or time (e.g. 2027-01-31T18:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _expiry(expires_in: str | None, expires_at: str | None) -> datetime | None:
    if expires_in is not None and expires_at is not None:
        fail("give --expires-in or --expires-at, not both")
    if expires_in is not None:
        try:
            return datetime.now(UTC) + _duration(expires_in)
        except OverflowError:
            fail(f"--expires-in {expires_in!r} is too long")
    return None if expires_at is None else _moment(expires_at)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@app.command("create")
def create_command(
    role: Annotated[str, typer.Option("--role", help="admin, gateway or tenant.")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="For a tenant key.")] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Refused after this long: 30d, 12h, 1w2d.")
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option("--expires-at", help="Refused from this ISO 8601 time (no offset: UTC)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="The key and what is stored about it, as JSON.")
    ] = False,
) -> None:
    """Create a key and print it; only its hash is stored, so keep it now."""
    expiry = _expiry(expires_in, expires_at)
    with _store("create a key") as store:
        key, info = store.issue(role, tenant, expiry)
    if json_output:
        print(json.dumps({"key": key, **info.to_dict()}, indent=2))
    else:
        out.print(key, highlight=False, markup=False)


@app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """Every key, oldest first, with its status; never a secret."""
    with _store("list keys") as store:
        keys = store.list()
    if json_output:
        print(json.dumps({"keys": [key.to_dict() for key in keys]}, indent=2))
        return
    table = Table(title=f"{len(keys)} API keys", title_justify="left")
    for column in ("id", "role", "tenant", "status", "created", "expires", "revoked"):
        table.add_column(column)
    now = datetime.now(UTC)
    for key in keys:
        status = key.status(now)
        style = {"active": "green", "expired": "yellow", "revoked": "red"}[status]
        table.add_row(
            key.id,
            key.role,
            escape(key.tenant_id) if key.tenant_id is not None else "-",
            f"[{style}]{status}[/]",
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.revoked_at),
        )
    out.print(table)


@app.command("revoke")
def revoke_command(
    key_id: Annotated[
        str, typer.Argument(help="The key's id (as `keys list` shows it), or the key itself.")
    ],
) -> None:
    """Refuse a key from now on: every worker refuses it within a second."""
    if key_id.startswith("mr_"):  # the whole key: its id is the part after mr_
        key_id = key_id.split("_", 2)[1]
    with _store("revoke a key") as store:
        before = datetime.now(UTC)
        info = store.revoke(key_id)
    out.print(_revoked(info, before), highlight=False, markup=False)


def _revoked(info: KeyInfo, before: datetime) -> str:
    who = info.role if info.tenant_id is None else f"tenant {info.tenant_id}"
    earlier = info.revoked_at is not None and info.revoked_at < before
    done = "was already revoked" if earlier else "revoked"
    return f"key {info.id} ({who}) {done} at {_when(info.revoked_at)}"

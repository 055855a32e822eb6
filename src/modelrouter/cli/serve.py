"""``modelrouter serve``: the HTTP service on uvicorn."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from modelrouter.cli.common import err, fail
from modelrouter.errors import first_problem
from modelrouter.service.allocator import limit_for_workers
from modelrouter.service.protocol import GuardedHttpToolsProtocol
from modelrouter.service.settings import Settings
from modelrouter.service.startup import StartupError, platform_policy_from, start_catalog
from modelrouter.store.database import create_engine_for, data_dir, database_url, redact, upgrade
from modelrouter.store.keys import KeyStore

__all__ = ["serve_command"]


def _check_files(settings: Settings) -> None:
    """Refuse bad start files before any worker starts (each would refuse them alone)."""
    start_catalog(settings.catalog)
    if settings.platform_policy is not None:
        platform_policy_from(settings.platform_policy)


def _local_keys() -> dict[str, str]:
    """Keys for a local run, made on the first one: the service only keeps
    their hashes, so the plain keys are kept here (readable by you only)."""
    path = data_dir() / "local-keys.json"
    if path.exists():
        keys: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return keys
    engine = create_engine_for()
    upgrade(engine)
    store = KeyStore(engine)
    keys = {"admin": store.create("admin"), "gateway": store.create("gateway")}
    engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
    return keys


def serve_command(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    local_keys: Annotated[
        bool, typer.Option("--local-keys", help="Create (once) and show local admin/gateway keys.")
    ] = False,
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            help="A catalog file layered over the bundled catalog (repeat for more; in order).",
        ),
    ] = None,
    platform_policy: Annotated[
        Path | None, typer.Option("--platform-policy", help="The platform policy file.")
    ] = None,
) -> None:
    """Serve the routing API. Settings come from these options, MODELROUTER_*
    variables and modelrouter.toml (README, Configuration)."""
    given: dict[str, object] = {}
    if catalog:
        given["catalog"] = catalog
    if platform_policy is not None:
        given["platform_policy"] = platform_policy
    try:
        settings = Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        where, message = first_problem(exc.errors())
        fail(f"bad setting MODELROUTER_{where.upper()} ({where}): {message}")
    # The workers read the same settings back from their environment.
    os.environ.update(settings.environment())
    limit_for_workers(settings.malloc_arenas)  # before uvicorn starts a thread or a worker
    try:
        _check_files(settings)
    except StartupError as exc:
        fail(str(exc))
    err.print(f"decision store: {redact(database_url())}", highlight=False)
    if local_keys:
        keys = _local_keys()
        base = f"http://{host}:{port}"
        err.print(f"modelrouter listening on {base}  (OpenAPI: {base}/docs)", highlight=False)
        err.print(f"local keys in {Path(data_dir()) / 'local-keys.json'}", highlight=False)
        err.print("try:", highlight=False)
        err.print(
            f"curl -s {base}/v1/route -H 'Authorization: Bearer {keys['gateway']}' "
            "-H 'Content-Type: application/json' "
            """-d '{"model": "gpt-4o", "input_tokens": 2000, "max_output_tokens": 500}'""",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    else:
        err.print(f"modelrouter listening on http://{host}:{port}", highlight=False)
    uvicorn.run(
        "modelrouter.service.app:create_app",
        factory=True,
        http=GuardedHttpToolsProtocol,  # a deadline for slow request heads
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # Access lines are info-level, below the level set: not even formatted.
        access_log=False,
    )

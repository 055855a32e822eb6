"""``pip install 'modelrouter[client]'`` (no service extra) gives a working
library and the HTTP client: it routes a request, replays it and prices its
usage, and ``modelrouter.client`` imports and runs a plan in process, without
FastAPI, SQLAlchemy or any other package of the ``service`` extra; its console
script says which extra to install instead of failing with a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

from tests.integration.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib.util, json
service = ["fastapi", "sqlalchemy", "psycopg", "uvicorn", "typer", "nats", "prometheus_client",
           "opentelemetry"]
present = [name for name in service if importlib.util.find_spec(name) is not None]
from modelrouter import Catalog, Router, RouteRequest, Usage, replay
router = Router(Catalog.bundled())
plan = router.route(RouteRequest(model="gpt-4o", input_tokens=2000, max_output_tokens=500))
cost = router.record_outcome(plan, Usage(input_tokens=2000, output_tokens=300))
from modelrouter.client import Client, LocalClient, Reply
Client("http://127.0.0.1:9", api_key="k").close()
served = LocalClient(router).run(
    {"model": "gpt-4o", "input_tokens": 2000, "max_output_tokens": 500},
    lambda hop: Reply({"usage": {"prompt_tokens": 2000, "completion_tokens": 300}}),
)
print(json.dumps({
    "present": present,
    "client_cost": str(served.actual_cost.total_usd),
    "primary": plan.primary.deployment,
    "replayed": replay(plan.snapshot, router.catalog).matched,
    "cost": str(cost.total_usd),
}))
"""


def test_the_bare_package_routes_without_the_service_extra(tmp_path: Path) -> None:
    env_dir = tmp_path / "bare"
    # No pip of its own (seeding one is seconds of the test): this venv's pip
    # installs into it (``pip --python``), the same resolution and install.
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # A copy of the source, so the build leaves nothing in the checkout.
    source = tmp_path / "source"
    _copy_tracked(source)
    spec = f"{source}[client]"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", spec],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        unavailable(
            "the package index (pip install of the bare package)",
            RuntimeError(install.stderr[-2000:]),
        )
    ran = subprocess.run(
        [str(python), "-c", SCRIPT],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["present"] == []
    assert result["primary"]
    assert result["replayed"] is True
    assert result["cost"] != "0"
    assert result["client_cost"] == result["cost"]

    command = subprocess.run(
        [str(env_dir / "bin" / "modelrouter"), "route", "gpt-4o"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert command.returncode == 2
    assert "pip install 'modelrouter[service]'" in command.stderr
    assert "Traceback" not in command.stderr


def _copy_tracked(target: Path) -> None:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    )
    for name in listed.stdout.decode().split("\0"):
        if not name or not (ROOT / name).is_file():
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes((ROOT / name).read_bytes())

"""A 20 s PostgreSQL outage (a TCP link the test cuts) while a real service
routes for unbudgeted tenants: at least 95 % of routes answer 200, the rest
503 with Retry-After, never a 500; every acknowledged decision is stored once
the database is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text

from modelrouter.store.database import create_engine_for, upgrade
from tests.integration.proxy import CuttableProxy
from tests.integration.server import Load, Server, hammer

OUTAGE_SECONDS = 20


def _until(condition: Callable[[], bool], failure: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def test_routing_rides_out_a_database_outage(
    proxied_url: tuple[str, CuttableProxy], postgres_url: str, tmp_path: Path
) -> None:
    url, proxy = proxied_url
    url += "?connect_timeout=2"  # a short connect timeout, as a production URL should have
    engine = create_engine_for(postgres_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM inference_requests"))
        connection.execute(text("DELETE FROM tenants"))
        connection.execute(text("DELETE FROM platform_policies"))
    server = Server(tmp_path, url).start()
    load = Load()
    try:
        # Every tenant's policy and the key have been read before the cut.
        headers = {"Authorization": f"Bearer {server.gateway_key}"}
        for tenant in range(3):
            body = {"model": "gpt-4o-mini", "input_tokens": 100, "max_output_tokens": 50}
            body["tenant_id"] = f"tenant-{tenant}"
            primed = httpx.post(f"{server.base}/v1/route", json=body, headers=headers, timeout=10)
            assert primed.status_code == 200, primed.text
            load.acknowledged.append(primed.json()["decision_id"])
        clients = threading.Thread(
            target=hammer,
            args=(server, load),
            kwargs={"prefix": "outage", "threads": 4, "seconds": OUTAGE_SECONDS + 30},
        )
        clients.start()
        _until(lambda: load.statuses[200] >= 50, "the load did not get going")
        proxy.cut()
        cut_at = time.monotonic()
        ready = httpx.get(f"{server.base}/readyz", timeout=10).json()
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
        degraded = httpx.get(f"{server.base}/readyz", timeout=10).json()
        proxy.restore()
        # Routing goes on once the link is back: then the load stops.
        back = load.statuses[200]
        _until(lambda: load.statuses[200] >= back + 200, "no routes answered after the restore")
        load.stop.set()
        clients.join()
        assert load.statuses[500] == 0, load.statuses
        total = sum(load.statuses.values())
        assert load.statuses[200] >= 0.95 * total, load.statuses
        others = total - load.statuses[200]
        assert load.retry_after == others, load.statuses  # every other answer is a 503 to retry
        assert degraded["status"] == "degraded", degraded
        assert ready["status"] in ("ready", "degraded")
        # Back: every acknowledged decision reaches the database, once.
        deadline = time.monotonic() + 60
        stored: set[str] = set()
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                stored = {
                    r[0] for r in connection.execute(text("SELECT id FROM inference_requests"))
                }
            if set(load.acknowledged) <= stored:
                break
            time.sleep(0.5)
        missing = set(load.acknowledged) - stored
        assert not missing, (
            f"{len(missing)} of {len(load.acknowledged)} acknowledged decisions lost"
        )
        assert httpx.get(f"{server.base}/readyz", timeout=10).json()["status"] == "ready"
        print(f"outage of {OUTAGE_SECONDS} s: answers {dict(load.statuses)}")
    finally:
        load.stop.set()  # the clients end with the test, whatever failed
        server.stop()
        engine.dispose()

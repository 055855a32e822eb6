"""A 20 s PostgreSQL outage (a TCP link the test cuts) while a real service
routes for unbudgeted tenants: at least 95 % of routes answer 200, the rest
503 with Retry-After, never a 500; every acknowledged decision is stored once
the database is back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from modelrouter.store.database import create_engine_for, upgrade
from tests.integration.proxy import CuttableProxy
from tests.integration.server import Load, Server, hammer

OUTAGE_SECONDS = 20


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
    try:
        load = Load()
        clients = threading.Thread(
            target=hammer,
            args=(server, load),
            kwargs={"prefix": "outage", "threads": 4, "seconds": OUTAGE_SECONDS + 10},
        )
        clients.start()
        time.sleep(3)  # every tenant's policy and the key have been read
        proxy.cut()
        cut_at = time.monotonic()
        ready = httpx.get(f"{server.base}/readyz", timeout=10).json()
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
        degraded = httpx.get(f"{server.base}/readyz", timeout=10).json()
        proxy.restore()
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
        server.stop()
        engine.dispose()

"""``kill -9`` of the serving process under load, three times on each backend:
every decision the service acknowledged with a 200 is found after the
restart (none lost), and none is stored twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from modelrouter.store.database import create_engine_for, upgrade
from tests.integration.server import Load, Server, hammer

RUNS = 3


def _stored(url: str) -> tuple[set[str], int]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            ids = {row[0] for row in connection.execute(text("SELECT id FROM inference_requests"))}
            rows = connection.execute(text("SELECT count(*) FROM inference_requests")).scalar_one()
        return ids, int(rows)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_under_load_loses_no_acknowledged_decision(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine_for(url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM inference_requests"))
    engine.dispose()
    acknowledged: list[str] = []
    server = Server(tmp_path, url).start()
    try:
        for run in range(RUNS):
            load = Load()
            clients = threading.Thread(
                target=hammer,
                args=(server, load),
                kwargs={"prefix": f"run{run}", "threads": 8, "seconds": 20},
            )
            clients.start()
            while len(load.acknowledged) < 150 and clients.is_alive():
                time.sleep(0.01)
            server.kill()  # mid-load: requests are in flight and batches unwritten
            load.stop.set()
            clients.join()
            assert load.acknowledged, load.statuses
            acknowledged += load.acknowledged
            # The restart replays the journal before it serves; it then takes the
            # next run's load (and is killed in turn), or after the last run stops.
            server = Server(tmp_path, url).start()
    finally:
        server.stop()
    ids, rows = _stored(url)
    missing = set(acknowledged) - ids
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged decisions lost"
    assert rows == len(ids)  # none duplicated
    assert len(set(acknowledged)) == len(acknowledged)

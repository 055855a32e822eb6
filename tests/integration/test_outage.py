"""With PostgreSQL cut away mid-run, routing keeps answering, decisions go to the
spool, and once the database is back the number stored equals the number
acknowledged: nothing lost, nothing duplicated."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from modelrouter.catalog.index import Catalog
from modelrouter.router import Router
from modelrouter.store.database import create_engine_for, upgrade
from modelrouter.store.repository import Repository
from modelrouter.store.writer import DecisionWriter
from tests.conftest import small_document
from tests.integration.proxy import CuttableProxy


def repository_count(repository: Repository) -> int:
    try:
        return repository.count_decisions()
    except Exception:  # still away
        return 0


def test_no_acknowledged_decision_is_lost_in_an_outage(
    proxied_url: tuple[str, CuttableProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_url
    engine = create_engine_for(url, pool_size=2, connect_args={"connect_timeout": 2})
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE inference_requests"))
    repository = Repository(engine)
    catalog = Catalog.from_layers([("small", small_document())])
    start = datetime(2026, 6, 1, tzinfo=UTC)
    moments = iter(start + timedelta(milliseconds=i) for i in range(10**6))
    router = Router(catalog, clock=lambda: next(moments))
    spool = tmp_path / "spool.jsonl"
    writer = DecisionWriter(
        repository, spool, batch_size=25, batch_interval=0.01, retry_interval=0.2
    ).start()
    acknowledged = 0
    for i in range(600):
        if i == 150:
            writer.flush()
            proxy.cut()
        if i == 450:
            proxy.restore()
        plan = router.route({"model": "smart", "input_tokens": 500 + i, "request_id": f"r{i}"})
        writer.submit(plan)  # routing kept answering throughout
        acknowledged += 1
        if 150 <= i < 450:
            time.sleep(0.002)  # let the writer meet the outage
    deadline = time.monotonic() + 30
    while repository_count(repository) < acknowledged and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    assert writer.stats.outages >= 1
    assert writer.stats.acknowledged == acknowledged
    assert not list(tmp_path.glob("spool-*.jsonl"))  # the journal is cleaned up once stored
    stored = repository.count_decisions()
    with engine.connect() as connection:
        distinct = connection.execute(
            text("SELECT count(DISTINCT id) FROM inference_requests")
        ).scalar_one()
    assert stored == distinct == acknowledged == 600
    engine.dispose()

"""Live signals shared by every instance through Redis (``MODELROUTER_REDIS_URL``).

The hot path never waits on Redis. Each instance answers from a local mirror
of the server's state, which a background thread refreshes every
``refresh_ms`` (100 ms by default: the view is at most that far behind, plus
one round trip). The same thread sends this instance's observations in
batches; the server applies each one atomically (``redis_scripts.OBSERVE``),
and this instance applies it to its own mirror at once, so its own next plan
already sees it.

rpm/tpm headroom is leased: the thread takes a share of each limited
deployment's minute from the server atomically (``redis_scripts.LEASE``),
sized to twice this instance's recent demand, and plans spend it locally. A
grant is counted in the server's window when it is made, so the instances
together never plan more than the limit; what one instance holds unspent is
the tolerance the other way (it is returned after 50 s, before its second
leaves the window). Use that was not planned (a fallback that was tried) is
counted as it is reported.

When Redis stops answering, routing goes on with the last mirror: each
decision records how old it is and says so once it is older than
``stale_after_ms``; observations wait in a bounded queue and leases run down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.feedback.circuit import IMMEDIATE, Circuit
from modelrouter.feedback.classify import HEALTH_CLASSES
from modelrouter.feedback.headroom import ProviderView
from modelrouter.feedback.latency import RESCALE_AFTER_HALF_LIVES, Histogram, bucket_of
from modelrouter.feedback.view import DeploymentState, Headroom, headroom_of
from modelrouter.policy.document import HealthPolicy
from modelrouter.signals.live import (
    LiveView,
    LocalSignals,
    Observation,
    provider_view,
    reset_at_ms,
    to_ms,
)
from modelrouter.signals.redis_scripts import LEASE, OBSERVE

__all__ = ["RedisSignals"]

log = logging.getLogger("modelrouter.signals")

DEFAULT_REFRESH_MS = 100
DEFAULT_STALE_AFTER_MS = 1000
# Observations kept while Redis is unreachable; the oldest go first.
QUEUE_LIMIT = 50_000
# A grant is handed back unspent this long after it was made, well before
# its second leaves the server's 61-second window.
LEASE_LIFETIME_S = 50
# Keys outlive their last use by a day.
TTL_S = 86_400


@dataclass(slots=True)
class _Grant:
    second: int
    requests: int
    tokens: int


@dataclass(slots=True)
class _Lease:
    grants: list[_Grant] = field(default_factory=list)
    # The server's count for the minute, as of the last refresh.
    used_requests: int = 0
    used_tokens: int = 0
    resets_s: int | None = None
    # Spent since the last refresh: what the next grant is sized from.
    demand_requests: int = 0
    demand_tokens: int = 0
    largest_request: int = 0

    @property
    def requests(self) -> int:
        return sum(g.requests for g in self.grants)

    @property
    def tokens(self) -> int:
        return sum(g.tokens for g in self.grants)

    def spend(self, tokens: int) -> None:
        need_requests, need_tokens = 1, tokens
        for grant in self.grants:
            take = min(grant.requests, need_requests)
            grant.requests -= take
            need_requests -= take
            spent = min(grant.tokens, need_tokens)
            grant.tokens -= spent
            need_tokens -= spent
        self.demand_requests += 1
        self.demand_tokens += tokens
        self.largest_request = max(self.largest_request, tokens)


def _int(value: Any) -> int | None:
    if value in (None, b"", ""):
        return None
    return int(float(value))


def _circuit(raw: Mapping[bytes, bytes]) -> Circuit:
    window: dict[int, list[int]] = {}
    for key, value in raw.items():
        name = key.decode()
        if name.startswith("w:"):
            _, at, kind = name.split(":")
            counts = window.setdefault(int(at), [0, 0])
            counts[0 if kind == "o" else 1] += int(value)
    reason = raw.get(b"reason", b"").decode() or None
    return Circuit(
        consecutive=_int(raw.get(b"consecutive")) or 0,
        trips=_int(raw.get(b"trips")) or 0,
        open_until_ms=_int(raw.get(b"open_until")) or 0,
        reason=reason,
        window=tuple((at, ok, bad) for at, (ok, bad) in sorted(window.items())),
    )


def _histogram(raw: Mapping[bytes, bytes]) -> Histogram:
    landmark = _int(raw.get(b"landmark")) or 0
    weights = {int(k): float(v) for k, v in raw.items() if k != b"landmark"}
    return Histogram(landmark, weights)


def _provider(raw: Mapping[bytes, bytes]) -> ProviderView | None:
    if not raw:
        return None
    return ProviderView(
        remaining_requests=_int(raw.get(b"rr")),
        remaining_tokens=_int(raw.get(b"rt")),
        requests_reset_ms=_int(raw.get(b"rr_reset")),
        tokens_reset_ms=_int(raw.get(b"rt_reset")),
        reported_ms=_int(raw.get(b"at")) or 0,
    )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


class RedisSignals(LocalSignals):
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "modelrouter",
        health: HealthPolicy | None = None,
        refresh_ms: int = DEFAULT_REFRESH_MS,
        stale_after_ms: int = DEFAULT_STALE_AFTER_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(health)
        self._client = client
        self._prefix = f"{prefix}:sig"
        self._observe = client.register_script(OBSERVE)
        self._lease = client.register_script(LEASE)
        self.refresh_ms = refresh_ms
        self.stale_after_ms = stale_after_ms
        self._clock = clock
        self._queue: deque[Observation] = deque(maxlen=QUEUE_LIMIT)
        self._counts: deque[tuple[str, int, int]] = deque(maxlen=QUEUE_LIMIT)
        self._leases: dict[str, _Lease] = {}
        self._limited: dict[str, Deployment] = {}
        self._versions: dict[str, int] = {}
        self._last_ok_ms: int | None = None
        # Before the first answer, the (empty) view is as old as this instance.
        self._started_ms = int(clock() * 1000)
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._io = threading.Lock()  # one refresh at a time (the thread, or a test's call)
        self._tracked: Catalog | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisSignals:
        # One quick retry, not redis-py's ten with backoff: a refresh against a
        # dead server must fail fast so the view's age tells the truth.
        client = redis.Redis.from_url(
            url,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, **options)

    def key(self, kind: str, deployment: str) -> str:
        return f"{self._prefix}:{kind}:{deployment}"

    # -- the hot path: local only -------------------------------------------

    def _age(self, now_ms: int) -> tuple[int | None, bool]:
        if self._last_ok_ms is None:
            return max(now_ms - self._started_ms, 0), True
        age = max(now_ms - self._last_ok_ms, 0)
        return age, age > self.stale_after_ms

    def view(self, catalog: Catalog, now: datetime) -> LiveView:
        self.track(catalog)
        return super().view(catalog, now)

    def track(self, catalog: Catalog) -> None:
        """Lease headroom for the catalog's limited deployments from now on."""
        if self._tracked is catalog:
            return
        limited = {d.id: d for d in catalog.deployments.values() if d.rate_limited}
        with self._lock:
            self._limited = limited
        self._tracked = catalog

    def _headroom(self, deployment: Deployment, state: DeploymentState, now_ms: int) -> Headroom:
        lease = self._leases.get(deployment.id)
        if lease is None:
            lease = _Lease()
        requests = lease.requests if deployment.rpm else None
        tokens = lease.tokens if deployment.tpm else None
        resets = None if lease.resets_s is None else lease.resets_s * 1000
        return headroom_of(
            deployment,
            requests,
            tokens,
            resets,
            state.provider,
            now_ms,
            share_requests=None if not deployment.rpm else deployment.rpm - lease.used_requests,
            share_tokens=None if not deployment.tpm else deployment.tpm - lease.used_tokens,
        )

    def observe(self, observation: Observation) -> None:
        self.apply(observation)
        self._queue.append(observation)

    def take(self, deployment: Deployment, tokens: int, now: datetime) -> bool:
        if not deployment.rate_limited:
            return True
        with self._lock:
            lease = self._leases.setdefault(deployment.id, _Lease())
            if deployment.rpm and lease.requests < 1:
                lease.demand_requests += 1  # unmet demand sizes the next grant too
                return False
            if deployment.tpm and lease.tokens < tokens:
                lease.demand_tokens += tokens
                lease.largest_request = max(lease.largest_request, tokens)
                return False
            lease.spend(tokens)
            self._touch(deployment.id)
            return True

    def count(self, deployment: Deployment, tokens: int, now: datetime) -> None:
        if deployment.rate_limited:
            self._counts.append((deployment.id, tokens, to_ms(now) // 1000))

    # -- the background thread ----------------------------------------------

    def start(self) -> RedisSignals:
        self.refresh()  # the first view and leases before the first request
        self._thread = threading.Thread(target=self._run, name="modelrouter-signals", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        interval = self.refresh_ms / 1000
        while not self._stop.wait(interval):
            self.refresh()

    def refresh(self) -> bool:
        """One round: send what was observed, read what changed, renew leases."""
        with self._io:
            now_ms = int(self._clock() * 1000)
            try:
                self._flush(now_ms)
                self._pull()
                self._renew(now_ms)
            except redis.RedisError as exc:
                if not self._failing:
                    log.warning("signals: Redis unreachable (%s); routing on the last view", exc)
                self._failing = True
                return False
            if self._failing:
                log.warning("signals: Redis answers again")
            self._failing = False
            self._last_ok_ms = now_ms
            return True

    def _flush(self, now_ms: int) -> None:
        observations = [self._queue.popleft() for _ in range(len(self._queue))]
        counts = [self._counts.popleft() for _ in range(len(self._counts))]
        if not observations and not counts:
            return
        pipe = self._client.pipeline(transaction=False)
        for observation in observations:
            self._send(pipe, observation)
        for deployment, tokens, second in counts:
            for kind, amount in (("rq", 1), ("tk", tokens)):
                key = self.key(kind, deployment)
                pipe.hincrby(key, str(second), amount)
                pipe.expire(key, TTL_S)
        try:
            pipe.execute()
        except redis.RedisError:
            # Not known to have landed: keep them for the next round (the
            # queue is bounded, so a long outage drops the oldest).
            self._queue.extendleft(reversed(observations))
            self._counts.extendleft(reversed(counts))
            raise

    def _send(self, pipe: Any, observation: Observation) -> None:
        rules = self.rules
        error = observation.error_class
        said = (
            None
            if observation.limits is None
            else provider_view(observation.limits, observation.at_ms)
        )
        provider = (
            ""
            if said is None
            else ",".join(
                _text(v)
                for v in (
                    said.remaining_requests,
                    said.remaining_tokens,
                    said.requests_reset_ms,
                    said.tokens_reset_ms,
                    said.reported_ms,
                )
            )
        )
        d = observation.deployment
        self._observe(
            keys=[
                self.key("c", d),
                self.key("lt", d),
                self.key("ls", d),
                self.key("pv", d),
                f"{self._prefix}:versions",
            ],
            args=[
                d,
                observation.at_ms,
                "" if error is None else error.value,
                1 if error in HEALTH_CLASSES else 0,
                1 if error in IMMEDIATE else 0,
                reset_at_ms(observation) or 0,
                rules.consecutive_failures,
                rules.error_rate_ppm,
                rules.min_attempts,
                rules.window_ms,
                rules.base_cooldown_ms,
                rules.max_cooldown_ms,
                rules.quota_cooldown_ms,
                rules.auth_cooldown_ms,
                "" if observation.ttft_ms is None else bucket_of(observation.ttft_ms),
                "" if observation.tokens_per_s is None else bucket_of(observation.tokens_per_s),
                self.half_life_ms,
                RESCALE_AFTER_HALF_LIVES,
                provider,
                TTL_S,
            ],
            client=pipe,
        )

    def _pull(self) -> None:
        raw: Mapping[bytes, bytes] = self._client.hgetall(f"{self._prefix}:versions")  # type: ignore[assignment]
        versions = {k.decode(): int(v) for k, v in raw.items()}
        changed = [d for d, v in versions.items() if self._versions.get(d) != v]
        if not changed:
            return
        pipe = self._client.pipeline(transaction=False)
        for d in changed:
            for kind in ("c", "lt", "ls", "pv"):
                pipe.hgetall(self.key(kind, d))
        answers = pipe.execute()
        with self._lock:
            for index, d in enumerate(changed):
                c, lt, ls, pv = answers[index * 4 : index * 4 + 4]
                state = self._state(d)
                state.circuit = _circuit(c)
                state.ttft = _histogram(lt)
                state.speed = _histogram(ls)
                state.provider = _provider(pv)
                state.version += 1
                self._versions[d] = versions[d]
                self._touch(d)

    def _renew(self, now_ms: int) -> None:
        now_s = now_ms // 1000
        with self._lock:
            limited = list(self._limited.values())
            asks = []
            for d in limited:
                lease = self._leases.setdefault(d.id, _Lease())
                # Grants about to leave the server's window go back, unspent part and all.
                expired = [g for g in lease.grants if g.second <= now_s - LEASE_LIFETIME_S]
                lease.grants = [
                    g for g in lease.grants if (g.requests or g.tokens) and g not in expired
                ]
                if expired:
                    self._touch(d.id)
                returned = _Grant(
                    expired[0].second if expired else 0,
                    sum(g.requests for g in expired),
                    sum(g.tokens for g in expired),
                )
                want_requests = max(2 * lease.demand_requests, 1) - lease.requests
                want_tokens = (
                    max(2 * lease.demand_tokens, 2 * lease.largest_request, 1) - lease.tokens
                )
                lease.demand_requests = lease.demand_tokens = 0
                asks.append((d, lease, returned, max(want_requests, 0), max(want_tokens, 0)))
        if not asks:
            return
        pipe = self._client.pipeline(transaction=False)
        for d, _, returned, want_requests, want_tokens in asks:
            self._lease(
                keys=[self.key("rq", d.id), self.key("tk", d.id), self.key("pv", d.id)],
                args=[
                    now_s,
                    d.rpm or 0,
                    d.tpm or 0,
                    want_requests if d.rpm else 0,
                    want_tokens if d.tpm else 0,
                    returned.requests,
                    returned.tokens,
                    returned.second,
                    now_ms,
                    TTL_S,
                ],
                client=pipe,
            )
        answers = pipe.execute()
        with self._lock:
            for (d, lease, _, _, _), answer in zip(asks, answers, strict=True):
                granted_requests, granted_tokens, used_requests, used_tokens, resets = (
                    int(x) for x in answer
                )
                if granted_requests or granted_tokens:
                    lease.grants.append(_Grant(now_s, granted_requests, granted_tokens))
                lease.used_requests, lease.used_tokens = used_requests, used_tokens
                lease.resets_s = resets
                self._touch(d.id)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.refresh()  # what was observed last still reaches the others
        self._client.close()

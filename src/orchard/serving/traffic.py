"""What the router knows about one online endpoint, and how a request picks its deployment.

The host sets keys, traffic and each deployment's ready instances from its supervisor
thread while the router serves requests on the event loop. A traffic or instance update
builds a new, immutable `Routes` snapshot and swaps it in under a lock (keys and the token
check are swapped whole); a request reads the current snapshot once, so it never sees half
an update and never takes a lock.

Traffic follows Azure's managed online endpoints: live percentages are integers that add
up to 100 (or to 0: no live traffic), a deployment at 0% is reached only through the
`azureml-model-deployment` header, and at most one deployment, taking no live traffic,
receives a mirrored copy of at most 50% of the requests that name no deployment.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from orchard.errors import NotFound, OrchardError
from orchard.serving.request_logs import RequestLog

AUTH_MODES = ("key", "aml_token", "aad_token")
MAX_MIRROR_PERCENT = 50  # Azure's cap on mirrored traffic
MAX_REQUEST_BYTES = 100 * 1024 * 1024
LATENCY_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0),
)


class DeploymentNotFound(NotFound):
    code = "DEPLOYMENT_NOT_FOUND"


class NoLiveTraffic(NotFound):
    """Azure answers 404 when no deployment has a positive weight and none is named."""

    code = "NO_VALID_DEPLOYMENT"


class DeploymentUnavailable(OrchardError):
    code = "DEPLOYMENT_UNAVAILABLE"
    http_status = 503


class Address(NamedTuple):
    """Where one instance listens, parsed once from its base URL."""

    host: str
    port: int
    authority: bytes  # the Host header it is sent


def address(url: str) -> Address:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{url!r} is not an instance base URL such as http://127.0.0.1:PORT")
    port = parts.port or 80
    return Address(parts.hostname, port, parts.netloc.encode("ascii"))


@dataclass(frozen=True, slots=True)
class Upstreams:
    """One deployment's READY instances: base URLs such as "http://127.0.0.1:PORT".

    `turn` hands out the round-robin starting point; it survives updates of `urls`, so a
    host that re-sets the same instances every tick does not reset the rotation.
    """

    deployment: str
    urls: tuple[str, ...] = ()
    turn: Iterator[int] = field(default_factory=itertools.count, compare=False, repr=False)
    addresses: tuple[Address, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "addresses", tuple(address(url) for url in self.urls))

    def attempts(self) -> tuple[Address, ...]:
        """Every ready instance once, the first one further along the rotation each call."""
        found = self.addresses
        if len(found) < 2:
            return found
        start = next(self.turn) % len(found)
        return found[start:] + found[:start]


@dataclass(frozen=True, slots=True)
class Routes:
    """One consistent view of the endpoint; replaced whole, never changed."""

    upstreams: Mapping[str, Upstreams]
    traffic: Mapping[str, int]
    mirror: Mapping[str, int]
    slots: tuple[str, ...]  # 100 entries, deployment k filling traffic[k]; () when no traffic
    mirror_to: str | None
    mirror_percent: int


def _routes(
    upstreams: Mapping[str, Upstreams], traffic: Mapping[str, int], mirror: Mapping[str, int]
) -> Routes:
    slots = tuple(name for name, share in traffic.items() for _ in range(share))
    to, percent = next(((n, p) for n, p in mirror.items() if p > 0), (None, 0))
    return Routes(dict(upstreams), dict(traffic), dict(mirror), slots, to, percent)


def validate_traffic(
    traffic: Mapping[str, int], mirror: Mapping[str, int] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Azure's rules for `traffic` and `mirror_traffic`; a ValueError names what is wrong."""
    live = _percentages("traffic", traffic)
    total = sum(live.values())
    if total not in (0, 100):
        shares = ", ".join(f"{name}={share}" for name, share in live.items())
        raise ValueError(f"traffic: the percentages ({shares}) add up to {total}, not 100 (or 0)")
    mirrored = _percentages("mirror_traffic", mirror or {})
    active = {name: share for name, share in mirrored.items() if share > 0}
    if len(active) > 1:
        names = ", ".join(sorted(active))
        raise ValueError(f"mirror_traffic: only one deployment can be mirrored to, not {names}")
    for name, share in active.items():
        if share > MAX_MIRROR_PERCENT:
            raise ValueError(
                f"mirror_traffic.{name}: {share}% is over the {MAX_MIRROR_PERCENT}% that can be"
                " mirrored"
            )
        if live.get(name, 0) > 0:
            raise ValueError(
                f"mirror_traffic.{name}: deployment {name!r} takes live traffic "
                f"({live[name]}%); a deployment receives live or mirrored traffic, not both"
            )
    return live, mirrored


def _percentages(what: str, shares: Mapping[str, int]) -> dict[str, int]:
    for name, share in shares.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what}: {name!r} is not a deployment name")
        if isinstance(share, bool) or not isinstance(share, int):
            raise ValueError(f"{what}.{name}: {share!r} is not a whole percentage")
        if not 0 <= share <= 100:
            raise ValueError(f"{what}.{name}: {share} is not between 0 and 100")
    return dict(shares)


class Metrics:
    """The endpoint's Prometheus series, in the state's own registry."""

    def __init__(self, endpoint: str, registry: CollectorRegistry) -> None:
        self.endpoint = endpoint
        by_code = ["endpoint", "deployment", "code"]
        self._requests = Counter(
            "orchard_endpoint_requests",
            "Scoring requests answered, by the deployment that served them and status code",
            by_code,
            registry=registry,
        )
        self._mirrored = Counter(
            "orchard_endpoint_mirrored_requests",
            "Mirrored copies of requests, by deployment and the status code it answered",
            by_code,
            registry=registry,
        )
        self._latency = Histogram(
            "orchard_endpoint_request_duration_seconds",
            "Time from a scoring request's arrival to its answer, by deployment",
            ["endpoint", "deployment"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._errors = Counter(
            "orchard_endpoint_upstream_errors",
            "Failed attempts to reach a deployment's instance, by reason",
            ["endpoint", "deployment", "reason"],
            registry=registry,
        )
        self._ready = Gauge(
            "orchard_endpoint_ready_instances",
            "Instances of each deployment that take requests",
            ["endpoint", "deployment"],
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[str, Histogram] = {}

    def answered(
        self, deployment: str, status: int, seconds: float, *, mirror: bool = False
    ) -> None:
        key = (deployment, "m" if mirror else "l", status)
        child = self._children.get(key)
        if child is None:
            family = self._mirrored if mirror else self._requests
            child = self._children[key] = family.labels(self.endpoint, deployment, str(status))
        child.inc()
        if not mirror:
            timer = self._timers.get(deployment)
            if timer is None:
                timer = self._timers[deployment] = self._latency.labels(self.endpoint, deployment)
            timer.observe(seconds)

    def upstream_error(self, deployment: str, reason: str) -> None:
        self._errors.labels(self.endpoint, deployment, reason).inc()

    def ready(self, deployment: str, count: int | None) -> None:
        if count is None:
            with contextlib.suppress(KeyError):  # prometheus-client < 0.21 raises for unknown
                self._ready.remove(self.endpoint, deployment)
        else:
            self._ready.labels(self.endpoint, deployment).set(count)


class EndpointState:
    """Thread-safe: the host mutates it from another thread while requests are served.

    `max_request_bytes` bounds a request body (413 past it); `rng` is the random source of
    the traffic split (tests pass a seeded one): an unnamed request draws once for its live
    deployment and, while a mirror is set, once more for whether it is copied.
    """

    def __init__(
        self,
        name: str,
        *,
        auth_mode: str = "key",
        keys: Sequence[str] = (),
        request_timeout_s: float = 60.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        rng: random.Random | None = None,
    ) -> None:
        if auth_mode not in AUTH_MODES:
            raise ValueError(f"auth_mode: {auth_mode!r} is not one of {', '.join(AUTH_MODES)}")
        if not request_timeout_s > 0:
            raise ValueError(f"request_timeout_s: {request_timeout_s} is not a positive number")
        self.name = name
        self.auth_mode = auth_mode
        self.request_timeout_s = float(request_timeout_s)
        self.max_request_bytes = max_request_bytes
        self.registry = CollectorRegistry()
        self.metrics = Metrics(name, self.registry)
        self.requests = RequestLog()  # the host gives it its folder
        self.random = rng.random if rng is not None else random.Random().random
        self._lock = threading.Lock()
        self._keys: tuple[bytes, ...] = ()
        self._token_check: Callable[[str], bool] | None = None
        self.routes = _routes({}, {}, {})
        self.set_keys(keys)

    # -- what the host sets --------------------------------------------------------------

    def set_keys(self, keys: Sequence[str]) -> None:
        """The primary and secondary key; a request bearing any one of them is let in."""
        self._keys = tuple(key.encode() for key in keys if key)

    def set_token_check(self, check: Callable[[str], bool] | None) -> None:
        """For aml_token and aad_token: is this bearer token valid for scoring here?"""
        self._token_check = check

    def set_traffic(
        self, traffic: Mapping[str, int], mirror: Mapping[str, int] | None = None
    ) -> None:
        live, mirrored = validate_traffic(traffic, mirror)
        with self._lock:
            now = self.routes
            if now.traffic == live and now.mirror == mirrored:
                return
            upstreams = dict(now.upstreams)
            for name in itertools.chain(live, mirrored):
                upstreams.setdefault(name, Upstreams(name))
            self.routes = _routes(upstreams, live, mirrored)

    def set_instances(self, deployment: str, urls: Sequence[str]) -> None:
        """The deployment's ready instances, in order; [] when none is ready."""
        ready = tuple(url.rstrip("/") for url in urls)
        with self._lock:
            now = self.routes
            known = now.upstreams.get(deployment)
            if known is None or known.urls != ready:
                upstreams = dict(now.upstreams)
                turn = known.turn if known is not None else itertools.count()
                upstreams[deployment] = Upstreams(deployment, ready, turn)
                self.routes = _routes(upstreams, now.traffic, now.mirror)
        self.metrics.ready(deployment, len(ready))

    def remove_deployment(self, deployment: str) -> None:
        """The deployment is gone: a header naming it now gets 404, as for any unknown name."""
        with self._lock:
            now = self.routes
            if deployment not in now.upstreams:
                return
            upstreams = {k: v for k, v in now.upstreams.items() if k != deployment}
            self.routes = _routes(upstreams, now.traffic, now.mirror)
        self.metrics.ready(deployment, None)

    # -- what a request asks -------------------------------------------------------------

    def authorized(self, token: bytes) -> bool:
        """Is `token` (the credentials of `Authorization: Bearer ...`) let in?"""
        if self.auth_mode == "key":
            accepted = False
            for key in self._keys:  # every key, so the time says nothing about which matched
                accepted |= hmac.compare_digest(token, key)
            return accepted
        check = self._token_check
        return check is not None and bool(token) and check(token.decode("latin-1"))

    def pick(self, named: str | None) -> tuple[Upstreams, str | None]:
        """The deployment that serves a request, and the one that gets its mirrored copy.

        `named` is the `azureml-model-deployment` header; a named request is not mirrored.
        The deployment returned may have no ready instance: the caller answers 503 for it.
        """
        routes = self.routes
        if named is not None:
            chosen = routes.upstreams.get(named)
            if chosen is None:
                raise DeploymentNotFound(
                    f"endpoint {self.name!r} has no deployment named {named!r} (from the "
                    "azureml-model-deployment header)"
                )
            return chosen, None
        if not routes.slots:
            raise NoLiveTraffic(
                f"endpoint {self.name!r} has no deployment with a positive traffic weight: "
                "set its traffic, or name a deployment in the azureml-model-deployment header"
            )
        draw = self.random
        chosen = routes.upstreams[routes.slots[int(draw() * 100)]]
        mirror = routes.mirror_to
        if mirror is not None and draw() * 100 < routes.mirror_percent:
            return chosen, mirror
        return chosen, None

    def mirror_target(self, deployment: str) -> Upstreams | None:
        found = self.routes.upstreams.get(deployment)
        return found if found is not None and found.urls else None

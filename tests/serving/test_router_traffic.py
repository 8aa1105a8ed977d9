"""The router's view of an endpoint: traffic rules, the choice of deployment, keys.

No sockets here: `EndpointState` is exercised directly, with a seeded random source.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

import pytest

from orchard.serving.router import (
    DeploymentNotFound,
    EndpointState,
    NoLiveTraffic,
    Upstreams,
    validate_traffic,
)

BLUE = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
GREEN = ["http://127.0.0.1:9101"]


def state(**traffic: int) -> EndpointState:
    endpoint = EndpointState("ep", keys=["primary", "secondary"], rng=random.Random(7))
    endpoint.set_instances("blue", BLUE)
    endpoint.set_instances("green", GREEN)
    endpoint.set_traffic(traffic)
    return endpoint


def within(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    """`count` of `n` draws at probability `p`, no further than `sigmas` binomial SDs off.

    The draws are seeded, so each run is the same; five SDs keeps the bound honest for
    any seed (a two-sided miss has probability below 1e-6).
    """
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traffic", "mirror"),
    [
        ({}, None),
        ({"blue": 0, "green": 0}, None),
        ({"blue": 100}, {}),
        ({"blue": 70, "green": 30}, None),
        ({"blue": 100, "green": 0}, {"green": 50}),
        ({"blue": 100}, {"green": 0, "red": 10}),  # 0% mirrors are switched off, not counted
    ],
)
def test_azure_traffic_rules_accept(traffic: dict[str, int], mirror: dict[str, int] | None) -> None:
    live, mirrored = validate_traffic(traffic, mirror)
    assert live == traffic
    assert mirrored == (mirror or {})


@pytest.mark.parametrize(
    ("traffic", "mirror", "message"),
    [
        ({"blue": 70, "green": 20}, None, "add up to 90, not 100"),
        ({"blue": 101}, None, "traffic.blue: 101 is not between 0 and 100"),
        ({"blue": -10, "green": 110}, None, "traffic.blue: -10 is not between 0 and 100"),
        ({"blue": 50.5, "green": 49.5}, None, "traffic.blue: 50.5 is not a whole percentage"),
        ({"blue": True}, None, "traffic.blue: True is not a whole percentage"),
        ({"": 100}, None, "is not a deployment name"),
        ({"blue": 100}, {"green": 51}, "mirror_traffic.green: 51% is over the 50%"),
        ({"blue": 100}, {"green": 10, "red": 10}, "only one deployment can be mirrored to"),
        ({"blue": 90, "green": 10}, {"green": 10}, "mirror_traffic.green: deployment 'green'"),
        ({"blue": 100}, {"green": 200}, "mirror_traffic.green: 200 is not between 0 and 100"),
    ],
)
def test_azure_traffic_rules_reject(
    traffic: dict[str, int], mirror: dict[str, int] | None, message: str
) -> None:
    endpoint = state(blue=100)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        endpoint.set_traffic(traffic, mirror)
    assert endpoint.routes.traffic == {"blue": 100}  # a rejected update changes nothing


def test_state_rejects_unknown_auth_mode_and_bad_instance_urls() -> None:
    with pytest.raises(ValueError, match="auth_mode: 'none' is not one of key"):
        EndpointState("ep", auth_mode="none")
    endpoint = EndpointState("ep")
    with pytest.raises(ValueError, match="'https://x:1' is not an instance base URL"):
        endpoint.set_instances("blue", ["https://x:1"])
    with pytest.raises(ValueError, match="is not an instance base URL"):
        endpoint.set_instances("blue", ["http://127.0.0.1:1/score"])


# -- choosing a deployment --------------------------------------------------------------


def test_live_traffic_splits_by_percentage() -> None:
    endpoint = state(blue=70, green=30)
    n = 10_000
    picks = Counter(endpoint.pick(None)[0].deployment for _ in range(n))
    assert set(picks) == {"blue", "green"}
    assert within(picks["green"], n, 0.30), picks


def test_a_deployment_at_zero_percent_is_reached_only_by_name() -> None:
    endpoint = state(blue=100, green=0)
    assert {endpoint.pick(None)[0].deployment for _ in range(2000)} == {"blue"}
    chosen, mirror = endpoint.pick("green")
    assert (chosen.deployment, chosen.urls, mirror) == ("green", tuple(GREEN), None)


def test_an_unknown_name_and_no_traffic_are_404s_that_say_why() -> None:
    endpoint = state()
    with pytest.raises(DeploymentNotFound, match="no deployment named 'red'") as unknown:
        endpoint.pick("red")
    assert unknown.value.http_status == 404
    with pytest.raises(NoLiveTraffic, match="no deployment with a positive traffic weight") as none:
        endpoint.pick(None)
    assert none.value.http_status == 404
    assert endpoint.pick("blue")[0].deployment == "blue"  # by name it still works


def test_a_removed_deployment_is_unknown_again() -> None:
    endpoint = state(blue=100)
    endpoint.set_instances("green", [])
    assert endpoint.pick("green")[0].urls == ()  # known, none ready: the router says 503
    endpoint.remove_deployment("green")
    with pytest.raises(DeploymentNotFound):
        endpoint.pick("green")


def test_mirror_copies_its_share_of_unnamed_requests_only() -> None:
    endpoint = state(blue=100, green=0)
    endpoint.set_traffic({"blue": 100, "green": 0}, {"green": 20})
    n = 10_000
    mirrored = sum(endpoint.pick(None)[1] == "green" for _ in range(n))
    assert within(mirrored, n, 0.20), mirrored
    assert all(endpoint.pick("blue")[1] is None for _ in range(500))
    assert endpoint.mirror_target("green") is not None
    endpoint.set_instances("green", [])
    assert endpoint.mirror_target("green") is None  # nothing ready: the copy is dropped


def test_instances_rotate_round_robin_and_a_repeated_update_keeps_the_turn() -> None:
    endpoint = state(blue=100)
    firsts = [endpoint.pick(None)[0].attempts()[0].port for _ in range(4)]
    assert firsts == [9001, 9002, 9001, 9002]
    endpoint.set_instances("blue", BLUE)  # the host re-sets the same list every tick
    assert endpoint.pick(None)[0].attempts()[0].port == 9001
    attempts = endpoint.pick(None)[0].attempts()
    assert [a.port for a in attempts] == [9002, 9001]  # every instance once, for retries
    assert Upstreams("solo").attempts() == ()


def test_concurrent_updates_never_show_a_half_made_state() -> None:
    endpoint = state(blue=100)
    stop = threading.Event()
    failures: list[BaseException] = []

    def flip() -> None:
        shares = [({"blue": 100, "green": 0}, {"green": 50}), ({"blue": 0, "green": 100}, {})]
        i = 0
        while not stop.is_set():
            traffic, mirror = shares[i % 2]
            endpoint.set_traffic(traffic, mirror)
            endpoint.set_instances("blue", BLUE[: 1 + i % 2])
            i += 1

    writer = threading.Thread(target=flip)
    writer.start()
    try:
        for _ in range(20_000):
            chosen, mirror = endpoint.pick(None)
            if mirror is not None and chosen.deployment != "blue":
                failures.append(AssertionError(f"{chosen.deployment} live with a mirror"))
    finally:
        stop.set()
        writer.join(timeout=10)
    assert failures == []


# -- keys and tokens --------------------------------------------------------------------


def test_either_key_is_accepted_and_rotation_takes_effect() -> None:
    endpoint = state(blue=100)
    assert endpoint.authorized(b"primary")
    assert endpoint.authorized(b"secondary")
    assert not endpoint.authorized(b"")
    assert not endpoint.authorized(b"primar")
    endpoint.set_keys(["rotated", "secondary"])
    assert not endpoint.authorized(b"primary")
    assert endpoint.authorized(b"rotated")
    endpoint.set_keys([])
    assert not endpoint.authorized(b"")  # no keys: nobody, not everybody


def test_token_modes_ask_the_hosts_check() -> None:
    endpoint = EndpointState("ep", auth_mode="aml_token")
    assert not endpoint.authorized(b"anything")  # no check yet: nobody
    seen: list[str] = []

    def check(token: str) -> bool:
        seen.append(token)
        return token == "good"

    endpoint.set_token_check(check)
    assert endpoint.authorized(b"good")
    assert not endpoint.authorized(b"bad")
    assert not endpoint.authorized(b"")  # an empty token never reaches the check
    assert seen == ["good", "bad"]
    endpoint.set_token_check(None)
    assert not endpoint.authorized(b"good")

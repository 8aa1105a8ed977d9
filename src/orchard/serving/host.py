"""The process that serves one online endpoint: the router on the scoring port, and a
supervisor thread that keeps each deployment's workers in line with the store.

    python -m orchard.serving.host --workspace W --endpoint E [--home H] [--port P]

Every SUPERVISE_SECONDS the supervisor reads the endpoint (keys, traffic) and its
deployments. A new or changed deployment is rolled out beside the old one: its workers
start, and only once each answers its liveness route does the router send them traffic
and the old workers stop, so an update drops no request. A worker that dies leaves the
router at once and is restarted. The endpoint deleted, the host stops its workers and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from orchard.config import Settings
from orchard.entities.endpoints import ManagedOnlineDeployment, applied_marker
from orchard.errors import NotFound, OrchardError
from orchard.security.endpoint_tokens import token_valid
from orchard.services import Services
from orchard.serving.deployment_files import materialize
from orchard.serving.instances import InstanceGroup
from orchard.serving.request_logs import RequestLog
from orchard.serving.router import EndpointState, create_router

SUPERVISE_SECONDS = 0.5
DEFAULT_READY_SECONDS = 300.0


def host_root(services: Services, workspace: str, endpoint: str) -> Path:
    return services.context.home / "endpoints" / workspace / endpoint


class EndpointHost:
    def __init__(self, services: Services, workspace: str, endpoint: str) -> None:
        self.services, self.workspace, self.endpoint = services, workspace, endpoint
        found = services.online_endpoints.get(workspace, endpoint)
        self.state = EndpointState(endpoint, auth_mode=found.auth_mode)
        self.root = host_root(services, workspace, endpoint)
        self.state.requests = RequestLog(self.root)
        self.groups: dict[str, InstanceGroup] = {}
        self.rolling: set[str] = set()
        self.failed: dict[str, str] = {}  # deployment -> the digest that failed to start
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.applied = ""  # the applied_marker of what the router serves now
        self.record: Path | None = None
        self.port = 0

    # -- supervision -------------------------------------------------------------------

    def supervise(self, on_gone: threading.Event) -> None:
        while not self.stopped.wait(SUPERVISE_SECONDS):
            try:
                self.state.requests.flush()
                before = self.applied
                self.tick()
                if self.applied != before:
                    self.write_record()
            except NotFound:
                on_gone.set()  # the endpoint was deleted
                return
            except (OrchardError, ValueError):
                traceback.print_exc()  # into the host's log; try again next tick

    def tick(self) -> None:
        endpoints, deployments = self.services.online_endpoints, self.services.online_deployments
        endpoint = endpoints.get(self.workspace, self.endpoint)
        keys = endpoints.keys(self.workspace, self.endpoint)
        self.state.set_keys([keys.primary_key, keys.secondary_key])
        self.state.auth_mode = endpoint.auth_mode
        self.state.set_token_check(_token_check(endpoint.name, keys.primary_key))
        current = {d.name: d for d in deployments.list(self.workspace, self.endpoint)}
        for name, deployment in current.items():
            self._keep(name, deployment)
        with self.lock:
            gone = [name for name in {*self.groups, *self.failed} if name not in current]
        for name in gone:
            self._retire(name)
        self.state.set_traffic(endpoint.traffic, endpoint.mirror_traffic)
        self.applied = applied_marker(endpoint, keys)

    def _keep(self, name: str, deployment: ManagedOnlineDeployment) -> None:
        digest = deployment.spec_digest()
        with self.lock:
            group = self.groups.get(name)
            if name in self.rolling or self.failed.get(name) == digest:
                return
            if group is None or group.digest != digest:
                self.rolling.add(name)
                if group is None:
                    self.state.set_instances(name, [])  # known, none ready: 503, not 404
                threading.Thread(
                    target=self._roll_out, args=(deployment, digest), daemon=True
                ).start()
                return
        restarted = group.replace_crashed()
        self.state.set_instances(name, group.ready_urls())
        if restarted:
            threading.Thread(target=self._rejoin, args=(name, group), daemon=True).start()

    def _roll_out(self, deployment: ManagedOnlineDeployment, digest: str) -> None:
        name = deployment.name
        try:
            files = materialize(
                self.services, self.workspace, deployment, self.root / name / digest
            )
            group = InstanceGroup(deployment, files, self.root / name / "logs", digest)
            group.start()
            why = group.wait_ready(_ready_seconds(deployment))
        except (OrchardError, OSError) as error:
            group, why = None, f"the deployment could not be prepared: {error}"
        states = self.services.online_deployments
        if why is not None or group is None:
            if group is not None:
                group.stop()
            with self.lock:
                self.failed[name] = digest
                self.rolling.discard(name)
                stays = name in self.groups  # an update failed: the old workers serve on
            if not stays:
                self.state.set_instances(name, [])
            states.set_state(self.workspace, self.endpoint, name, digest, "Failed", why)
            return
        with self.lock:
            old = self.groups.get(name)
            self.groups[name] = group
            self.rolling.discard(name)
            self.failed.pop(name, None)
        self.state.set_instances(name, group.ready_urls())  # traffic moves, then the old go
        if old is not None:
            old.stop()
        states.set_state(self.workspace, self.endpoint, name, digest, "Succeeded")

    def _rejoin(self, name: str, group: InstanceGroup) -> None:
        if group.wait_ready(_ready_seconds(group.deployment)) is None:
            with self.lock:
                if self.groups.get(name) is not group:
                    return  # replaced meanwhile
            self.state.set_instances(name, group.ready_urls())

    def _retire(self, name: str) -> None:
        with self.lock:
            group = self.groups.pop(name, None)
            self.failed.pop(name, None)
        self.state.remove_deployment(name)
        if group is not None:
            group.stop()

    def write_record(self) -> None:
        """host.json: where this host serves and what it applied, for clients to read."""
        if self.record is None:
            return
        body = {"pid": os.getpid(), "port": self.port, "applied": self.applied}
        staging = self.record.with_suffix(".tmp")
        staging.write_text(json.dumps(body), encoding="utf-8")
        staging.replace(self.record)

    def stop(self) -> None:
        self.stopped.set()
        self.state.requests.close()
        with self.lock:
            names = list(self.groups)
        for name in names:
            self._retire(name)


def _ready_seconds(deployment: ManagedOnlineDeployment) -> float:
    probe = deployment.readiness_probe
    if probe is None:
        return DEFAULT_READY_SECONDS
    return float(probe.initial_delay + probe.period * probe.failure_threshold)


# -- the process ---------------------------------------------------------------------------


def serve(services: Services, workspace: str, endpoint: str, port: int) -> None:
    import uvicorn

    host = EndpointHost(services, workspace, endpoint)
    # Named TCP: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say so, and
    # with it on, each answer waits out the client's delayed ACK (40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    bound = listener.getsockname()[1]
    config = uvicorn.Config(
        create_router(host.state), log_level="warning", access_log=False, lifespan="on"
    )
    server = _server_class()(config)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
    gone = threading.Event()
    threading.Thread(target=host.supervise, args=(gone,), daemon=True).start()
    threading.Thread(target=_exit_when, args=(gone, server), daemon=True).start()
    host.root.mkdir(parents=True, exist_ok=True)
    host.record, host.port = host.root / "host.json", bound
    try:
        host.tick()  # keys and traffic before the first request
        services.online_endpoints.set_scoring_uri(workspace, endpoint, f"http://127.0.0.1:{bound}")
        host.write_record()
        server.run(sockets=[listener])
    finally:
        host.stop()
        host.record.unlink(missing_ok=True)
        if not gone.is_set():
            services.online_endpoints.set_scoring_uri(workspace, endpoint, None)


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises a SIGTERM once it has shut down, which would end the host
            # before it stops its workers: the host handles its own signals instead.
            yield

    return Server


def _token_check(endpoint: str, primary_key: str) -> Callable[[str], bool]:
    """aml_token: a token signed under the primary key for this endpoint, not expired."""
    return lambda token: token_valid(primary_key, endpoint, token, time.time())


def _exit_when(gone: threading.Event, server: object) -> None:
    gone.wait()
    server.should_exit = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orchard-endpoint-host")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    settings = Settings.discover(home=args.home, workspace=args.workspace)
    services = Services.open(settings)
    try:
        serve(services, args.workspace, args.endpoint, args.port)
    except NotFound as missing:
        print(missing.message, file=sys.stderr)
        return 3
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A deployment's worker processes: started, checked for readiness, restarted when they
crash, stopped when the deployment goes or is replaced."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from orchard.entities.endpoints import ManagedOnlineDeployment
from orchard.serving.deployment_files import DeploymentFiles

READY_POLL_SECONDS = 0.1
STOP_GRACE_SECONDS = 5.0
INIT_FAILED_EXIT = 3  # the worker's code when init() (or loading the model) failed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Instance:
    index: int
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    ready: bool = False  # has answered its liveness route

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class InstanceGroup:
    """`instance_count` workers of one version (spec digest) of a deployment."""

    deployment: ManagedOnlineDeployment
    files: DeploymentFiles
    logs: Path
    digest: str
    instances: list[Instance] = field(default_factory=list)
    restarts: int = 0

    def start(self) -> None:
        self.instances = [self._spawn(i) for i in range(self.deployment.instance_count)]

    def wait_ready(self, timeout: float) -> str | None:
        """None once every instance answers its liveness route, else why not."""
        deadline = time.monotonic() + timeout
        pending = [i for i in self.instances if not i.ready]
        with httpx.Client(timeout=2.0) as client:
            while pending:
                instance = pending[0]
                if not instance.alive():
                    return _exit_reason(instance)
                if _answers(client, instance):
                    instance.ready = True
                    pending.pop(0)
                    continue
                if time.monotonic() >= deadline:
                    return f"instance {instance.index} was not ready after {timeout:.0f} s"
                time.sleep(READY_POLL_SECONDS)  # a process not listening yet has nothing to await
        return None

    def ready_urls(self) -> list[str]:
        return [i.url for i in self.instances if i.ready and i.alive()]

    def replace_crashed(self) -> list[Instance]:
        """Start a new worker for each one that exited; the new ones are not ready yet."""
        started = []
        for position, instance in enumerate(self.instances):
            if not instance.alive():
                self.restarts += 1
                self.instances[position] = fresh = self._spawn(instance.index)
                started.append(fresh)
        return started

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()

    def _spawn(self, index: int) -> Instance:
        port = free_port()
        log = self.logs / f"instance-{index}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            process = subprocess.Popen(
                self._argv(port, index),
                cwd=str(self.files.code or self.files.model_dir),
                env=self._env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C for the host is not one for its workers
            )
        return Instance(index, process, port, log)

    def _argv(self, port: int, index: int) -> list[str]:
        d = self.deployment
        argv = [self.files.python, "-m", "orchard.serving.worker", "--port", str(port)]
        argv += ["--model-dir", str(self.files.model_dir), "--deployment", d.name]
        if d.code_configuration is not None and self.files.code is not None:
            argv += ["--code", str(self.files.code)]
            argv += ["--scoring-script", d.code_configuration.scoring_script]
        elif self.files.model_path is not None:
            argv += ["--mlflow-model", str(self.files.model_path)]
        settings = d.request_settings
        argv += ["--max-concurrent-requests", str(settings.max_concurrent_requests_per_instance)]
        argv += ["--request-timeout-ms", str(settings.request_timeout_ms)]
        collector = d.data_collector
        if collector is not None and self.files.collect:
            for name, folder in self.files.collect.items():
                argv += [f"--collect-{name.removeprefix('model_')}", str(folder)]
            argv += ["--collect-sampling-rate", str(collector.sampling_rate)]
            argv += ["--collect-rolling-rate", collector.rolling_rate]
            argv += ["--collect-source", f"/onlineEndpoints/{d.endpoint_name}/deployments/{d.name}"]
            argv += ["--collect-instance", f"instance-{index}"]
        return argv

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.files.env,
            **self.deployment.environment_variables,
            "AZUREML_MODEL_DIR": str(self.files.model_dir),
            "PYTHONUNBUFFERED": "1",
        }


def _answers(client: httpx.Client, instance: Instance) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return client.get(instance.url + "/").status_code == 200
    return False


def _exit_reason(instance: Instance) -> str:
    code = instance.process.returncode
    tail = instance.log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    what = "init() failed" if code == INIT_FAILED_EXIT else f"the worker exited with code {code}"
    return f"instance {instance.index}: {what}:\n" + "\n".join(tail)

"""Which run `Run.get_context()` means: the job's, read from the environment the runner
sets, or an offline one.

A job's runner sets MLFLOW_TRACKING_URI (its loopback tracking server), MLFLOW_RUN_ID and
AZUREML_RUN_ID (the job's name), MLFLOW_EXPERIMENT_NAME, ORCHARD_WORKSPACE and
ORCHARD_HOME. Each process has one run per context: every `get_context()` returns the
same object, so step counters and tables carry across the modules of a script.
"""

from __future__ import annotations

import os
import threading

from orchard.errors import OrchardError
from orchard.run.experiment import Experiment
from orchard.run.offline import OfflineRun
from orchard.run.rest import TrackingClient
from orchard.run.run import Run
from orchard.run.workspace import Workspace

DEFAULT_EXPERIMENT = "Default"

_runs: dict[tuple[str, str], Run] = {}
_lock = threading.Lock()


class NoRunContext(OrchardError):
    """`Run.get_context(allow_offline=False)` where no job's run is to be found."""

    code = "NO_RUN_CONTEXT"
    http_status = 400


def current_run(*, allow_offline: bool = True) -> Run:
    run_id = os.environ.get("MLFLOW_RUN_ID") or os.environ.get("AZUREML_RUN_ID")
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    live = bool(run_id) and uri.startswith(("http://", "https://"))
    if not live and not allow_offline:
        raise NoRunContext(_why_not(run_id, uri))
    key = (uri, run_id or "") if live else ("offline", "")
    with _lock:
        if key not in _runs:
            _runs[key] = _live(uri, run_id or "") if live else _offline()
        return _runs[key]


def _live(uri: str, run_id: str) -> Run:
    workspace = os.environ.get("ORCHARD_WORKSPACE") or os.environ.get("AZUREML_ARM_WORKSPACE_NAME")
    home = os.environ.get("ORCHARD_HOME")

    def open_workspace() -> Workspace:
        return Workspace(workspace_name=workspace, home=home)

    return Run(TrackingClient(uri), run_id, Experiment(open_workspace, _experiment_name()))


def _offline() -> OfflineRun:
    return OfflineRun(Experiment(Workspace.from_config, _experiment_name()))


def _experiment_name() -> str:
    return (
        os.environ.get("MLFLOW_EXPERIMENT_NAME")
        or os.environ.get("AZUREML_EXPERIMENT_NAME")
        or DEFAULT_EXPERIMENT
    )


def _why_not(run_id: str | None, uri: str) -> str:
    if not run_id:
        missing = "MLFLOW_RUN_ID (or AZUREML_RUN_ID) is not set"
    elif not uri:
        missing = "MLFLOW_TRACKING_URI is not set"
    else:
        missing = f"MLFLOW_TRACKING_URI {uri!r} is not an http(s) tracking server"
    return (
        f"Run.get_context(allow_offline=False) found no run to log to: {missing}. Submit the "
        "script as a job (`ml_client.jobs.create_or_update(command(...))` or `orchard job "
        "create`), whose runner sets these, or call Run.get_context() for an offline run."
    )

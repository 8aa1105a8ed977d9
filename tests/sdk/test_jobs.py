"""Command jobs end to end: real runner processes, real scripts, both store back ends."""

from __future__ import annotations

import io
import os
import select
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from orchard import Input, Output, command
from orchard.entities import Data
from orchard.entities.jobs import CommandJob
from orchard.errors import ValidationError
from orchard.sdk.client import MLClient


def finish(ml_client: MLClient, job: CommandJob) -> tuple[CommandJob, str]:
    """Follow a submitted job to its end; returns the final job and its log."""
    log = io.StringIO()
    assert job.name
    done = ml_client.jobs.stream(job.name, out=log)
    return done, log.getvalue()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_hello_world_completes_with_its_log(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(
        command(command="echo hello from $AZUREML_RUN_ID", experiment_name="hello")
    )
    assert job.status == "Queued"
    done, log = finish(ml_client, job)
    assert done.status == "Completed", done.error
    assert f"hello from {job.name}" in log
    assert done.exit_code == 0 and done.start_time and done.end_time


def test_code_inputs_and_outputs_are_bound(ml_client: MLClient, tmp_path: Path) -> None:
    code = tmp_path / "src"
    write(
        code / "train.py",
        """
        import pathlib, sys
        data, rate, out = sys.argv[1], sys.argv[2], sys.argv[3]
        rows = pathlib.Path(data).read_text().splitlines()
        pathlib.Path("outputs/summary.txt").write_text(f"{len(rows)} rows at {rate}")
        pathlib.Path(out, "model.txt").write_text("weights")
        print("cwd has", sorted(p.name for p in pathlib.Path(".").iterdir()))
    """,
    )
    write(code / "ignored.bin", "x")
    write(code / ".amlignore", "*.bin\n")
    csv = write(tmp_path / "rows.csv", "a\n1\n2\n")
    ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    job = ml_client.jobs.create_or_update(
        command(
            code=str(code),
            command="python train.py ${{inputs.data}} ${{inputs.rate}} ${{outputs.model}}"
            "$[[ --missing ${{inputs.absent}}]]",
            inputs={"data": Input(type="uri_file", path="azureml:rows@latest"), "rate": 0.5},
            outputs={"model": Output(type="custom_model", name="trained", version="1")},
        )
    )
    done, log = finish(ml_client, job)
    assert done.status == "Completed", (done.error, log)
    assert "'train.py'" in log and "ignored.bin" not in log and "'outputs'" in log
    model = ml_client.models.get("trained", "1")
    assert model.job_name == job.name and model.type == "custom_model"
    fetched = ml_client.models.download("trained", "1", download_path=tmp_path / "m")
    assert (fetched / "model.txt").read_text() == "weights"
    got = ml_client.jobs.download(job.name or "", tmp_path / "dl", all=True)
    assert (got / "artifacts" / "outputs" / "summary.txt").read_text() == "3 rows at 0.5"
    assert "cwd has" in (got / "artifacts" / "user_logs" / "std_log.txt").read_text()
    assert (got / "named-outputs" / "model" / "model.txt").read_text() == "weights"


def test_failing_script_records_exit_code_and_stderr(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(command(command="echo about to fail >&2; exit 3"))
    done, _ = finish(ml_client, job)
    assert done.status == "Failed"
    assert done.exit_code == 3
    assert done.error and "about to fail" in done.error["log_tail"]


def test_timeout_fails_the_job(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(command(command="sleep 60", timeout=1))
    done, _ = finish(ml_client, job)
    assert done.status == "Failed" and done.error and done.error["code"] == "JobTimeout"


def started_job(ml_client: MLClient, tmp_path: Path, rest: str) -> tuple[str, int]:
    """Submit `rest` and block until its shell has started; returns (job, shell pid)."""
    fifo = tmp_path / "started.fifo"
    os.mkfifo(fifo)
    job = ml_client.jobs.create_or_update(command(command=f"echo $$ > {fifo}; {rest}"))
    assert job.name
    with fifo.open() as reader:  # opens once the command's shell writes: no polling
        shell_pid = int(reader.read().strip())
    return job.name, shell_pid


def test_cancel_stops_the_command(ml_client: MLClient, tmp_path: Path) -> None:
    name, shell = started_job(ml_client, tmp_path, "sleep 120")
    assert ml_client.jobs.get(name).status == "Running"
    ml_client.jobs.cancel(name)
    done = ml_client.jobs.stream(name, out=io.StringIO())
    assert done.status == "Canceled"
    with pytest.raises(ProcessLookupError):
        os.killpg(shell, 0)  # the whole process group is gone


def test_killed_runner_leaves_the_job_failed_with_its_metrics(
    ml_client: MLClient, tmp_path: Path
) -> None:
    name, shell = started_job(ml_client, tmp_path, "sleep 120")
    services = ml_client.jobs._transport
    from orchard.entities.tracking import Metric

    services.runs.log_batch(
        ml_client.workspace_name, name, metrics=[Metric(key="loss", value=0.5, step=1, timestamp=1)]
    )
    agent = services.jobs.agent_of(ml_client.workspace_name, name)
    assert agent
    runner = int(agent.rsplit(":", 1)[1])
    ended = os.pidfd_open(runner)  # readable once the runner has died
    os.kill(runner, signal.SIGKILL)
    select.select([ended], [], [])
    os.close(ended)
    os.killpg(shell, signal.SIGKILL)  # the orphaned command, so the test leaves nothing
    job = ml_client.jobs.get(name)
    assert job.status == "Failed"
    assert "died" in (job.error or {}).get("message", "")
    assert services.runs.get(ml_client.workspace_name, name).metrics == {"loss": 0.5}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"environment": "azureml:no-such-env@latest"}, "no-such-env"),
        ({"compute": "azureml:no-such-cluster"}, "no-such-cluster"),
        ({"inputs": {"d": Input(type="uri_file", path="azureml:missing-data:1")}}, "missing-data"),
        ({"command": "echo ${{inputs.nothing}}"}, "nothing"),
    ],
)
def test_bad_references_fail_before_anything_starts(
    ml_client: MLClient, changes: dict[str, object], message: str
) -> None:
    job = command(command="echo hi").model_copy(update=changes)
    with pytest.raises(ValidationError, match=message):
        ml_client.jobs.create_or_update(job)
    assert ml_client.jobs.list() == []


def test_published_compute_names_run_locally(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(command(command="echo ok", compute="azureml:cpu-cluster"))
    done, _ = finish(ml_client, job)
    assert done.status == "Completed"


def test_oversized_code_snapshot_is_refused(
    ml_client: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHARD_MAX_SNAPSHOT_MB", "1")
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "blob.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    with pytest.raises(ValidationError, match="limit"):
        ml_client.jobs.create_or_update(command(code=str(tmp_path / "big"), command="ls"))


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("runners use Linux process groups", allow_module_level=True)

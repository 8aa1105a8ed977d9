"""The driver end to end, as a job runs it: real worker processes over real files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from parallel_helpers import DRIVER, drive, write_files, write_script

import orchard

ARGS = """
import argparse, os, time
from pathlib import Path

def marks():
    parser = argparse.ArgumentParser()
    parser.add_argument("--marks")
    known, _ = parser.parse_known_args()
    return Path(known.marks)

def note(name, text):
    with open(marks() / name, "a") as sink:
        sink.write(text + "\\n")

def first(mini_batch):
    return os.path.basename(mini_batch[0])
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_rows_come_from_run_and_program_arguments_reach_argparse(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 5)
    write_script(
        tmp_path,
        """
        import argparse, os

        def init():
            global ARGS
            parser = argparse.ArgumentParser()
            parser.add_argument("--prefix")
            ARGS, _ = parser.parse_known_args()
            print("init ran in", os.getcwd())

        def run(mini_batch):
            here = os.path.basename(os.getcwd())
            return [f"{ARGS.prefix} {os.path.basename(p)} {here}" for p in mini_batch]
        """,
    )
    done = drive(
        tmp_path,
        "--program-arguments",
        "--prefix 'hello world' --unknown 1",
        "--mini-batch-size",
        "2",
        "--workers",
        "2",
    )
    assert done.code == 0, done.output
    assert done.rows() == [f"hello world f00{i}.txt code" for i in range(5)]
    assert "mini-batches: 3 total, 3 done, 0 failed, 0 retried, 0 left" in done.output
    assert done.last_line == "Parallel run completed"
    stdout_logs = list((tmp_path / "logs" / "user" / "stdout").rglob("process*.stdout.txt"))
    assert any("init ran in" in log.read_text() for log in stdout_logs)
    assert (tmp_path / "logs" / "job_result.txt").read_text().startswith("mini-batches: 3 total")


def test_run_with_a_context_sees_partition_keys_and_dataset(tmp_path: Path) -> None:
    data = tmp_path / "sales"
    data.mkdir()
    frame = pd.DataFrame({"region": ["west", "east", "west", "north"], "amount": [1, 2, 3, 4]})
    frame.to_csv(data / "part.csv", index=False)
    write_script(
        tmp_path,
        """
        def run(mini_batch, mini_batch_context):
            key = mini_batch_context.partition_key_value["region"]
            total = int(mini_batch["amount"].sum())
            index = mini_batch_context.minibatch_index
            return [f"{index} {mini_batch_context.dataset} {key} {total}"]
        """,
    )
    done = drive(
        tmp_path,
        *("--input-data", str(data), "--input-type", "mltable", "--input-name", "sales"),
        *("--partition-keys", "region", "--workers", "2"),
    )
    assert done.code == 0, done.output
    assert done.rows() == ["0 sales east 2", "1 sales north 4", "2 sales west 4"]


def test_a_returned_dataframe_is_written_as_space_separated_rows(tmp_path: Path) -> None:
    data = tmp_path / "table"
    data.mkdir()
    pd.DataFrame({"id": range(50), "name": [f"n{i}" for i in range(50)]}).to_csv(
        data / "part.csv", index=False
    )
    write_script(
        tmp_path,
        """
        def run(mini_batch):
            return mini_batch.assign(double=mini_batch["id"] * 2)
        """,
    )
    done = drive(
        tmp_path,
        *("--input-data", str(data), "--input-type", "mltable", "--mini-batch-size", "200"),
    )
    assert done.code == 0, done.output
    assert done.rows() == [f"{i} n{i} {2 * i}" for i in range(50)]
    assert re.search(r"mini-batches: (\d+) total", done.output).group(1) != "1"  # type: ignore[union-attr]


def test_rows_are_appended_in_mini_batch_order_when_batches_finish_out_of_order(
    tmp_path: Path,
) -> None:
    write_files(tmp_path / "data", 4)
    (tmp_path / "marks").mkdir()
    write_script(
        tmp_path,
        ARGS
        + """
def run(mini_batch):
    name = first(mini_batch)
    if name == "f000.txt":
        # The first batch waits for the last, so it finishes after every other batch.
        deadline = time.monotonic() + 30
        while not (marks() / "last-done").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    note("finished", name)
    if name == "f003.txt":  # after its note, so the first batch's note comes later
        (marks() / "last-done").touch()
    return [name]
""",
    )
    done = drive(
        tmp_path,
        *("--mini-batch-size", "1", "--workers", "2"),
        *("--program-arguments", f"--marks {tmp_path / 'marks'}"),
    )
    assert done.code == 0, done.output
    finished = (tmp_path / "marks" / "finished").read_text().split()
    assert finished[-1] == "f000.txt"
    assert done.rows() == ["f000.txt", "f001.txt", "f002.txt", "f003.txt"]


FAILING = (
    ARGS
    + """
def run(mini_batch):
    name = first(mini_batch)
    note("attempts", name)
    if name == "f001.txt":
        raise ValueError("cannot score " + name)
    return [name]
"""
)


def test_a_failing_mini_batch_is_retried_then_fails_the_run_past_the_threshold(
    tmp_path: Path,
) -> None:
    write_files(tmp_path / "data", 3)
    (tmp_path / "marks").mkdir()
    write_script(tmp_path, FAILING)
    done = drive(
        tmp_path,
        *("--mini-batch-size", "1", "--max-retries", "2", "--mini-batch-error-threshold", "0"),
        *("--program-arguments", f"--marks {tmp_path / 'marks'}"),
    )
    assert done.code == 1, done.output
    attempts = (tmp_path / "marks" / "attempts").read_text().split()
    assert attempts.count("f001.txt") == 3
    assert done.last_line == (
        "Parallel run failed: 1 mini-batch failed, more than mini_batch_error_threshold 0; "
        "first: mini-batch 1: ValueError: cannot score f001.txt"
    )
    assert "failed (attempt 2 of 3), retrying" in done.output
    assert not (tmp_path / "out" / "parallel_run_step.txt").exists()
    assert list((tmp_path / "out").iterdir()) == []  # no half-written file left either


def test_with_no_threshold_failures_are_reported_and_the_run_succeeds(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 3)
    (tmp_path / "marks").mkdir()
    write_script(tmp_path, FAILING)
    done = drive(
        tmp_path,
        *("--mini-batch-size", "1", "--max-retries", "1"),
        *("--program-arguments", f"--marks {tmp_path / 'marks'}"),
    )
    assert done.code == 0, done.output
    assert done.rows() == ["f000.txt", "f002.txt"]
    assert "mini-batches: 3 total, 2 done, 1 failed, 1 retried, 0 left" in done.output
    assert "failed: mini-batch 1: ValueError: cannot score f001.txt" in done.output
    assert done.last_line == "Parallel run completed with failures"


def test_items_without_a_result_count_against_the_error_threshold(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 6)
    write_script(
        tmp_path,
        """
        import os

        def run(mini_batch):
            return [p for p in mini_batch if not p.endswith("f004.txt")]
        """,
    )
    failed = drive(tmp_path, "--mini-batch-size", "3", "--error-threshold", "0")
    assert failed.code == 1, failed.output
    assert failed.last_line == "Parallel run failed: 1 item failed, more than error_threshold 0"
    tolerated = drive(tmp_path, "--mini-batch-size", "3", "--error-threshold", "1")
    assert tolerated.code == 0, tolerated.output
    assert len(tolerated.rows()) == 5


def test_a_mini_batch_past_its_timeout_is_killed_and_retried(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 1)
    (tmp_path / "marks").mkdir()
    write_script(
        tmp_path,
        ARGS
        + """
def run(mini_batch):
    note("pids", str(os.getpid()))
    if not (marks() / "slow-once").exists():
        (marks() / "slow-once").touch()
        time.sleep(60)
    return ["ok"]
""",
    )
    done = drive(
        tmp_path,
        *("--timeout", "1", "--program-arguments", f"--marks {tmp_path / 'marks'}"),
    )
    assert done.code == 0, done.output
    assert done.rows() == ["ok"]
    assert "mini-batch 0 timed out after 1s; killing process000" in done.output
    slow, fast = (int(pid) for pid in (tmp_path / "marks" / "pids").read_text().split())
    assert slow != fast
    assert not alive(slow)


def test_a_worker_that_dies_is_replaced_and_its_mini_batch_retried(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 2)
    (tmp_path / "marks").mkdir()
    write_script(
        tmp_path,
        ARGS
        + """
def run(mini_batch):
    if not (marks() / "died").exists():
        (marks() / "died").touch()
        os._exit(3)
    return [first(mini_batch)]
""",
    )
    done = drive(
        tmp_path,
        *("--mini-batch-size", "1", "--program-arguments", f"--marks {tmp_path / 'marks'}"),
    )
    assert done.code == 0, done.output
    assert "its worker exited with code 3" in done.output
    assert done.rows() == ["f000.txt", "f001.txt"]


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (
            "def init():\n    raise RuntimeError('no model at ./model')\n\n"
            "def run(b):\n    return b\n",
            "RuntimeError: no model at ./model",
        ),
        ("def init():\n    pass\n", "AttributeError: "),
    ],
)
def test_an_init_failure_fails_the_run_with_its_traceback(
    tmp_path: Path, script: str, reason: str
) -> None:
    write_files(tmp_path / "data", 3)
    write_script(tmp_path, script)
    done = drive(tmp_path, "--workers", "2")
    assert done.code == 1, done.output
    assert "Traceback (most recent call last)" in done.output
    assert done.last_line.startswith("Parallel run failed: init() of the entry script failed")
    assert reason in done.last_line


def test_summary_only_writes_no_rows(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 4)
    write_script(tmp_path, "def run(mini_batch):\n    return mini_batch\n")
    done = drive(tmp_path, "--output-action", "summary_only", "--mini-batch-size", "2")
    assert done.code == 0, done.output
    assert "mini-batches: 2 total, 2 done" in done.output
    assert list((tmp_path / "out").iterdir()) == []  # there for AZUREML_BI_OUTPUT_PATH


def test_bad_input_and_flags_are_named(tmp_path: Path) -> None:
    write_script(tmp_path, "def run(mini_batch):\n    return mini_batch\n")
    missing = drive(tmp_path)
    assert missing.code == 2
    assert missing.last_line.startswith("Parallel run failed: --input-data: no such file")
    write_files(tmp_path / "data", 1)
    no_script = drive(tmp_path, entry_script="nope.py")
    assert no_script.code == 2
    assert "--entry-script: no such file nope.py" in no_script.last_line
    bad_size = drive(tmp_path, "--mini-batch-size", "ten")
    assert bad_size.code == 2
    assert "mini_batch_size: 'ten' is not a size" in bad_size.output


@pytest.mark.parametrize("whole_group", [False, True])
def test_sigterm_cancels_the_run_and_leaves_no_worker_behind(
    tmp_path: Path, whole_group: bool
) -> None:
    write_files(tmp_path / "data", 4)
    write_script(tmp_path, "import time\n\ndef run(mini_batch):\n    time.sleep(60)\n")
    command = [*DRIVER, "--input-data", str(tmp_path / "data"), "--input-type", "uri_folder"]
    command += ["--entry-script", "score.py", "--code", str(tmp_path / "code")]
    command += ["--mini-batch-size", "1", "--workers", "2", "--logging-level", "debug"]
    driver = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert driver.stdout is not None
        pids: list[int] = []
        for line in driver.stdout:
            found = re.search(r"ready \(pid (\d+)\)", line)
            if found:
                pids.append(int(found.group(1)))
            if len(pids) == 2 and "started on" in line:
                break
        assert len(pids) == 2
        if whole_group:
            os.killpg(driver.pid, signal.SIGTERM)
        else:
            driver.send_signal(signal.SIGTERM)
        rest = driver.stdout.read()
        assert driver.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert rest.strip().splitlines()[-1] == "Parallel run canceled: received SIGTERM"
    assert [pid for pid in pids if alive(pid)] == []


@pytest.mark.parametrize("minor", ["3.8", "3.9"])
def test_the_driver_runs_under_an_older_python_with_nothing_but_orchard_on_its_path(
    tmp_path: Path, minor: str
) -> None:
    # A step's environment may be an older Python without Orchard's dependencies: only
    # the link to the orchard package is put on its PYTHONPATH.
    from orchard.runtime.environments.interpreters import find_python

    found = find_python(minor)
    if found is None:
        pytest.skip(f"no Python {minor} on this machine")
    write_files(tmp_path / "data", 4)
    write_script(tmp_path, "def run(mini_batch):\n    return [len(mini_batch)]\n")
    source = str(Path(orchard.__file__).resolve().parent.parent)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": source, "PYTHONNOUSERSITE": "1"}
    done = drive(tmp_path, "--mini-batch-size", "3", "--workers", "2", python=found.path, env=env)
    assert done.code == 0, done.output
    assert done.rows() == ["3", "1"]


def test_a_batch_deployment_model_is_under_azureml_model_dir_by_its_own_name(
    tmp_path: Path,
) -> None:
    write_files(tmp_path / "data", 1)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.txt").write_text("folder")
    (tmp_path / "model.pkl").write_text("file")
    write_script(
        tmp_path,
        """
        import os

        def run(mini_batch):
            root = os.environ["AZUREML_MODEL_DIR"]
            rows = [sorted(os.listdir(root)), os.environ["AZUREML_BI_OUTPUT_PATH"]]
            for parts in (("weights", "w.txt"), ("w.txt",), ("model.pkl",)):
                if os.path.isfile(os.path.join(root, *parts)):
                    rows.append(open(os.path.join(root, *parts)).read())
            return rows
        """,
    )
    folder = drive(tmp_path, "--model-dir", str(tmp_path / "weights"), "--model-folder", "weights")
    assert folder.code == 0, folder.output
    assert folder.rows() == ["['w.txt', 'weights']", str(tmp_path / "out"), "folder", "folder"]
    single = drive(
        tmp_path, "--model-dir", str(tmp_path / "model.pkl"), "--model-folder", "model.pkl"
    )
    assert single.code == 0, single.output
    assert single.rows() == ["['model.pkl']", str(tmp_path / "out"), "file"]
    missing = drive(tmp_path, "--model-dir", str(tmp_path / "nothing"))
    assert missing.code == 2 and "--model-dir: no such file or folder" in missing.last_line

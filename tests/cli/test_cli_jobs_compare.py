"""`orchard job list --filter/--order-by/--columns` and `orchard job compare`, run as a
user runs them. The jobs are recorded in-process (submitted, logged to, ended) rather
than run: tests/sdk/test_jobs_compare.py runs real ones."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import yaml

from conftest import Cli
from orchard.entities.jobs import CommandJob, JobStatus
from orchard.entities.tracking import Metric, Param, Tag
from orchard.sdk.client import MLClient

BOLD_YELLOW = "\x1b[1;33m"  # the style of a row whose values differ
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def recorded(cli: Cli) -> Iterator[Cli]:
    """Three ended jobs in `exp` and one in `other`, in the CLI's own store."""
    client = MLClient(workspace_name=cli.workspace, home=cli.home, database_url=cli.database_url)
    services = client._transport.services  # type: ignore[attr-defined]
    jobs = [
        ("exp", "job-a", {"lr": "0.1", "optimizer": "adam"}, [0.99, 0.95], {}),
        ("exp", "job-b", {"lr": "0.01", "optimizer": "adam"}, [0.85], {"team": "nlp"}),
        ("exp", "job-c", {"lr": "0.001", "optimizer": "adam"}, [0.97], {}),
        ("other", "job-d", {"lr": "0.1"}, [], {}),
    ]
    epochs = {"job-a": {"epochs": 10}, "job-b": {"epochs": 20}, "job-c": {"epochs": 10}}
    ws = cli.workspace
    for experiment, name, params, accuracies, tags in jobs:
        job = CommandJob(
            name=name, command="true", experiment_name=experiment, inputs=epochs.get(name, {})
        )
        services.jobs.submit(ws, job)
        services.runs.log_batch(
            ws,
            name,
            params=[Param(key=k, value=v) for k, v in params.items()],
            metrics=[
                Metric(key="accuracy", value=v, step=i, timestamp=i)
                for i, v in enumerate(accuracies)
            ],
            tags=[Tag(key=k, value=v) for k, v in tags.items()],
        )
        for status in (JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.COMPLETED):
            services.jobs.set_status(ws, name, status)
    client.close()
    yield cli


def rows_of(table: str, names: list[str]) -> list[str]:
    """The job names in the order a table shows them."""
    lines = table.splitlines()
    found = [(next(i for i, line in enumerate(lines) if f" {n} " in line), n) for n in names]
    return [name for _, name in sorted(found)]


def plain(text: str) -> str:
    return ANSI.sub("", text)


def line(table: str, first_cell: str) -> str:
    """The table line (colours kept) whose first cell is `first_cell`."""
    return next(text for text in table.splitlines() if f" {first_cell} " in plain(text))


def test_list_filters_orders_and_adds_columns(recorded: Cli) -> None:
    table = recorded.ok(
        "job",
        "list",
        "--experiment",
        "exp",
        "--filter",
        "metrics.accuracy > 0.9",
        "--order-by",
        "metrics.accuracy DESC",
        "--columns",
        "params.lr,metrics.accuracy",
    ).stdout
    assert "job-b" not in table and "job-d" not in table
    assert rows_of(table, ["job-a", "job-c"]) == ["job-c", "job-a"]
    header = next(line for line in table.splitlines() if "params.lr" in line)
    for column in ("name", "status", "experiment_name", "metrics.accuracy"):
        assert column in header
    row_c = next(line for line in table.splitlines() if " job-c " in line)
    assert "0.001" in row_c and "0.97" in row_c and "Completed" in row_c

    listed = json.loads(
        recorded.ok(
            "job",
            "list",
            "--order-by",
            "params.lr ASC",
            "--order-by",
            "attributes.run_name DESC",
            "--columns",
            "params.lr",
            "-c",
            "metric.accuracy,tags.team,inputs.epochs",
            "--max-results",
            "3",
            "-o",
            "json",
        ).stdout
    )
    # Every experiment; "0.1" twice, then by run name descending; three at most.
    assert [job["name"] for job in listed] == ["job-c", "job-b", "job-d"]
    assert listed[1]["params.lr"] == "0.01" and listed[1]["metrics.accuracy"] == 0.85
    assert listed[1]["tags.team"] == "nlp" and listed[0]["tags.team"] is None
    assert listed[2]["experiment_name"] == "other" and listed[2]["metrics.accuracy"] is None
    assert [job["inputs.epochs"] for job in listed] == ["10", "20", None]
    assert listed[0]["command"] == "true"  # the job itself is all there too


def test_list_without_columns_keeps_its_shape(recorded: Cli) -> None:
    listed = yaml.safe_load(
        recorded.ok("job", "list", "--filter", "params.lr = '0.1'", "-o", "yaml").stdout
    )
    assert [job["name"] for job in listed] == ["job-d", "job-a"]
    assert not any(key.startswith(("params.", "metrics.")) for key in listed[0])


def test_bad_filter_or_column_exits_2_naming_it(recorded: Cli) -> None:
    bad = recorded("job", "list", "--filter", "metrics.accuracy >> 0.9")
    assert bad.code == 2
    assert "Invalid clause(s) in filter string: 'metrics.accuracy >> 0.9'" in bad.stderr
    assert "Traceback" not in bad.stderr
    column = recorded("job", "list", "--columns", "params.lr,bogus.key")
    assert column.code == 2 and "unknown column 'bogus.key'" in column.stderr


def test_compare_highlights_rows_that_differ(
    recorded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    table = recorded.ok("job", "compare", "job-a", "job-b", "job-d").stdout
    header = plain(line(table, "key"))
    assert header.index("job-a") < header.index("job-b") < header.index("job-d")
    assert BOLD_YELLOW in line(table, "params.lr")  # 0.1, 0.01, 0.1
    assert BOLD_YELLOW in line(table, "params.optimizer")  # job-d has none
    assert BOLD_YELLOW in line(table, "metrics.accuracy")
    assert BOLD_YELLOW in line(table, "inputs.epochs")  # 10, 20, none
    assert "4 of 4 rows differ" in plain(table)
    same = recorded.ok("job", "compare", "job-a", "job-c", "-o", "table").stdout
    assert BOLD_YELLOW not in line(same, "params.optimizer")  # adam, adam
    assert "adam" in plain(line(same, "params.optimizer"))
    assert BOLD_YELLOW in line(same, "params.lr")
    assert BOLD_YELLOW not in line(same, "inputs.epochs")  # 10, 10

    body = json.loads(recorded.ok("job", "compare", "job-a", "job-d", "-o", "json").stdout)
    assert body["jobs"] == ["job-a", "job-d"]
    assert body["inputs"] == {"epochs": {"job-a": "10", "job-d": None}}
    assert body["params"] == {
        "lr": {"job-a": "0.1", "job-d": "0.1"},
        "optimizer": {"job-a": "adam", "job-d": None},
    }
    assert body["metrics"] == {"accuracy": {"job-a": 0.95, "job-d": None}}
    assert body["differing"] == ["inputs.epochs", "params.optimizer", "metrics.accuracy"]


def test_compare_unknown_job_exits_3_naming_it(recorded: Cli) -> None:
    missing = recorded("job", "compare", "job-a", "no-such-job")
    assert missing.code == 3
    assert "job not found: 'no-such-job'" in missing.stderr
    assert missing.stdout == ""

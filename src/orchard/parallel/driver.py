"""`python -m orchard.parallel.driver`: a parallel step's command.

It runs as an ordinary command job under the step environment's interpreter; its stdout
is the job's std_log. Exit code 0 when the run succeeded, 1 when it failed (the reason is
the last line printed), 2 for bad flags or input, 128 + the signal when canceled.
Imports stay light: the stdlib, and pandas/pyarrow only when the input is tabular.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from orchard.parallel.batches import FILE_TYPES, TABULAR_TYPES, InputError, plan
from orchard.parallel.engine import Engine, Limits, Progress, RunFailed
from orchard.parallel.environment import worker_environment
from orchard.parallel.pool import Pool
from orchard.parallel.protocol import WorkerConfig
from orchard.parallel.results import RowWriter
from orchard.parallel.sizes import BatchSize, parse_batch_size

DEFAULT_OUTPUT_FILE = "parallel_run_step.txt"
MLFLOW_SCORER = Path(__file__).with_name("mlflow_scorer.py")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
log = logging.getLogger("orchard.parallel")


class Canceled(BaseException):
    """A SIGTERM or SIGINT. A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` on the way (logging's own, for one) swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m orchard.parallel.driver",
        description="Run an entry script over mini-batches of the input, in parallel.",
    )
    p.add_argument("--input-data", required=True, help="the input file or folder")
    p.add_argument("--input-type", required=True, choices=(*FILE_TYPES, *TABULAR_TYPES))
    p.add_argument("--input-name", default="input_data", help="mini_batch_context.dataset")
    script = p.add_mutually_exclusive_group(required=True)
    script.add_argument("--entry-script", help="relative to --code")
    script.add_argument(
        "--mlflow-scorer", action="store_true", help="score the MLflow model in --model-dir"
    )
    p.add_argument("--code", default=".", help="the script's folder: its cwd and sys.path")
    p.add_argument("--program-arguments", default="", help="the workers' sys.argv[1:]")
    p.add_argument("--mini-batch-size", type=_size, default=None, help="10, 100kb, 10mb, 1gb")
    p.add_argument("--partition-keys", type=_keys, default=None, help="k1,k2 (tabular)")
    p.add_argument("--workers", type=_at_least(1), default=1)
    p.add_argument("--mini-batch-error-threshold", type=_at_least(-1), default=-1)
    p.add_argument("--error-threshold", type=_at_least(-1), default=-1)
    p.add_argument("--max-retries", type=_at_least(0), default=3)
    p.add_argument("--timeout", type=_at_least(1), default=60, help="seconds per mini-batch")
    p.add_argument("--output", default="outputs", help="the folder bound to append_row_to")
    p.add_argument("--output-file-name", default=DEFAULT_OUTPUT_FILE)
    p.add_argument("--output-file", default=None, help="the file itself (a uri_file output)")
    p.add_argument("--output-action", choices=("append_row", "summary_only"), default="append_row")
    p.add_argument("--logging-level", type=str.upper, choices=LEVELS, default="INFO")
    p.add_argument("--logs-dir", default="logs", help="where per-worker logs go")
    p.add_argument("--model-dir", default=None, help="a batch deployment's model")
    p.add_argument("--model-folder", default="model", help="its name under AZUREML_MODEL_DIR")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _log_to_stdout(args.logging_level)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _cancel)
    try:
        return _run(args)
    except (InputError, FileNotFoundError) as error:
        return _finish(f"Parallel run failed: {error}", 2)
    except RunFailed as error:
        if error.detail:
            print(error.detail.rstrip(), flush=True)
        return _finish(f"Parallel run failed: {error}", 1)
    except Canceled as error:
        return _finish(f"Parallel run canceled: received {error}", 128 + error.signum)


def _run(args: argparse.Namespace) -> int:
    code = Path(args.code).resolve()
    script = MLFLOW_SCORER if args.mlflow_scorer else code / args.entry_script
    if not script.is_file():
        raise FileNotFoundError(f"--entry-script: no such file {args.entry_script} in {code}")
    output = Path(args.output_file).parent if args.output_file else Path(args.output)
    with worker_environment(output.resolve(), args.model_dir, args.model_folder, args.workers):
        return _score(args, script, code)


def _score(args: argparse.Namespace, script: Path, code: Path) -> int:
    batches = plan(args.input_data, args.input_type, args.mini_batch_size, args.partition_keys)
    log.info("%d mini-batches from %s (%s)", len(batches), args.input_data, args.input_type)
    logs = Path(args.logs_dir).resolve()
    config = _worker_config(args, script, code, logs)
    pool = Pool(config, min(args.workers, max(1, len(batches))))
    writer = None
    if args.output_action == "append_row":
        target = args.output_file or Path(args.output) / args.output_file_name
        writer = RowWriter(Path(target).resolve())
    limits = Limits(
        args.max_retries, args.timeout, args.mini_batch_error_threshold, args.error_threshold
    )
    sys.stdout.flush()
    try:
        progress = Engine(batches, pool, limits, writer).run() if len(batches) else Progress(0)
        pool.close(grace=float(args.timeout))
    except BaseException:
        pool.kill_all()
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.commit()
        log.info("%d rows appended to %s", writer.rows, writer.path)
    _write_result(logs, progress)
    print(progress.line(), flush=True)
    for error in progress.errors:
        print(f"failed: {error}", flush=True)
    print("Parallel run completed" + (" with failures" if progress.failed else ""), flush=True)
    return 0


def _worker_config(
    args: argparse.Namespace, script: Path, code: Path, logs: Path
) -> Callable[[int], WorkerConfig]:
    def configure(slot: int) -> WorkerConfig:
        return WorkerConfig(
            slot=slot,
            entry_script=str(script),
            code=str(code),
            argv=shlex.split(args.program_arguments),
            logs=str(logs),
            logging_level=args.logging_level,
            dataset=args.input_name,
            want_rows=args.output_action == "append_row",
        )

    return configure


def _write_result(logs: Path, progress: Progress) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    lines = [progress.line(), *(f"failed: {e}" for e in progress.errors)]
    (logs / "job_result.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _finish(message: str, code: int) -> int:
    print(message, flush=True)
    return code


def _cancel(signum: int, frame: FrameType | None) -> None:
    raise Canceled(signum)


def _log_to_stdout(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def _size(text: str) -> BatchSize:
    try:
        return parse_batch_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _keys(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys:
        raise argparse.ArgumentTypeError("give one or more column names, comma-separated")
    return keys


def _at_least(low: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}")
        return value

    return check


if __name__ == "__main__":
    sys.exit(main())

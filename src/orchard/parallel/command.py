"""A parallel step as the command line of an ordinary command job.

The step's command job has the step's `task.code` as its code, so the job runs in that
snapshot and the driver is told `--code .`. Azure bindings (`${{inputs.x}}`,
`${{outputs.y}}`) are kept as they are, for the command job's templating to fill.
"""

from __future__ import annotations

import re
import shlex

from orchard.entities.parallel import DEFAULT_OUTPUT_FILE, ParallelSettings

DRIVER = "python -m orchard.parallel.driver"
OUTPUT_ACTIONS = ("append_row", "summary_only")
BINDING = re.compile(r"^\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}$")


def driver_command(
    settings: ParallelSettings,
    *,
    input_type: str,
    output_action: str = "append_row",
    output_file_name: str | None = None,
    append_to_file: bool = False,
    model_input: str | None = None,
    model_folder: str | None = None,
    mlflow_scorer: bool = False,
) -> str:
    """`python -m orchard.parallel.driver --input-data ${{inputs.x}} ...` for `settings`.
    `append_to_file`: append_row_to names a uri_file output, so rows go to that file
    itself rather than to a file in that folder. A batch deployment's model is the input
    `model_input`, laid out under AZUREML_MODEL_DIR as `model_folder`; `mlflow_scorer`
    scores it with the built-in MLflow script instead of the task's entry script."""
    if output_action not in OUTPUT_ACTIONS:
        raise ValueError(
            f"output_action: {output_action!r} is not one of {', '.join(OUTPUT_ACTIONS)}"
        )
    task, retry = settings.task, settings.retry_settings
    flags: list[tuple[str, str]] = [
        ("--input-data", settings.input_data),
        ("--input-name", bound_input(settings.input_data) or "input_data"),
        ("--input-type", input_type),
        ("--mlflow-scorer", "") if mlflow_scorer else ("--entry-script", task.entry_script),
        ("--code", "."),
    ]
    if model_input:
        flags.append(("--model-dir", f"${{{{inputs.{model_input}}}}}"))
        flags.append(("--model-folder", model_folder or "model"))
    if task.program_arguments:
        flags.append(("--program-arguments", task.program_arguments))
    if settings.splits_by_size() and settings.mini_batch_size is not None:
        flags.append(("--mini-batch-size", settings.mini_batch_size.strip()))
    if settings.partition_keys:
        flags.append(("--partition-keys", ",".join(settings.partition_keys)))
    flags += [
        ("--workers", str(settings.worker_count)),
        ("--mini-batch-error-threshold", str(settings.mini_batch_error_threshold)),
        ("--error-threshold", str(settings.error_threshold)),
        ("--max-retries", str(retry.max_retries)),
        ("--timeout", str(retry.timeout)),
    ]
    if task.append_row_to and append_to_file and output_action == "append_row":
        flags.append(("--output-file", task.append_row_to))
    else:
        if task.append_row_to:  # AZUREML_BI_OUTPUT_PATH even for summary_only
            flags.append(("--output", task.append_row_to))
        if output_action == "append_row":
            flags.append(("--output-file-name", output_file_name or DEFAULT_OUTPUT_FILE))
    flags += [("--output-action", output_action), ("--logging-level", settings.logging_level)]
    words = (f"{flag} {_quoted(value)}" if value else flag for flag, value in flags)
    return " ".join([DRIVER, *words])


def bound_input(text: str) -> str | None:
    """`${{inputs.job_data_path}}` -> `job_data_path` (what mini_batch_context.dataset
    says); None when the text is not one input binding."""
    found = BINDING.match(text.strip())
    return found.group(2) if found and found.group(1) == "inputs" else None


def bound_output(text: str) -> str | None:
    """`${{outputs.scores}}` -> `scores`; None when the text is not one output binding."""
    found = BINDING.match(text.strip())
    return found.group(2) if found and found.group(1) == "outputs" else None


def _quoted(value: str) -> str:
    # A lone binding stays bare, as Azure commands write them; templating puts a path there.
    return value.strip() if BINDING.match(value.strip()) else shlex.quote(value)

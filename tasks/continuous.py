"""Tasks of the continuous pipeline's bookkeeping: state, data, evaluation set, artifacts.

The state lives in a Prefect Variable (`read_state`, `write_state`); the flow writes it once,
after everything remote has succeeded. Nothing here is cached: each run must see the data
location and the Variable as they are now.

Artifacts (stable keys): ``continuous-lineage`` (the lineage table, every run that judged a
candidate or rolled back) and ``continuous-summary`` (every run, no-ops included).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.logging import get_run_logger
from prefect.variables import Variable

from ftflow.continuous import (
    ContinuousResult,
    ContinuousState,
    DataFile,
    DataLocationError,
    TrainingSet,
    build_training_set,
    fit,
    read_text,
    scan,
)
from ftflow.continuous.report import lineage_rows, summary_markdown
from ftflow.evaluation import EvalExample, read_eval_set

__all__ = [
    "LINEAGE_KEY",
    "SUMMARY_KEY",
    "load_eval_set",
    "prepare_training_set",
    "publish_lineage",
    "publish_summary",
    "read_state",
    "scan_data",
    "write_state",
]

LINEAGE_KEY = "continuous-lineage"
SUMMARY_KEY = "continuous-summary"


@task(name="read-state", task_run_name="read-state-{variable}", cache_policy=NONE)
async def read_state(variable: str) -> ContinuousState:
    """The state kept in the Variable ``variable``; empty when it does not exist yet."""
    value: object = await Variable.aget(variable)
    state = ContinuousState.from_variable(value)
    get_run_logger().info(
        "State %r: serving %s, %d files trained on, %d lineage entries",
        variable,
        state.promoted or "nothing yet",
        len(state.trained),
        len(state.lineage),
    )
    return state


@task(name="write-state", task_run_name="write-state-{variable}", cache_policy=NONE)
async def write_state(
    variable: str,
    state: ContinuousState,
    keep: int,
    present: Sequence[str] | None = None,
) -> ContinuousState:
    """Store ``state`` in the Variable ``variable``, cut to fit (`fit`); return what was stored.

    ``present``: hashes of the files now in the data location, for `fit` to forget the others
    if the state would not fit otherwise.
    """
    fitted = fit(state, keep, present=present)
    await Variable.aset(variable, fitted.to_variable(), overwrite=True)
    get_run_logger().info(
        "State %r written: serving %s, previous %s, %d files trained on",
        variable,
        fitted.promoted,
        fitted.previous,
        len(fitted.trained),
    )
    return fitted


@task(name="scan-data", cache_policy=NONE)
def scan_data(location: str, pattern: str) -> list[DataFile]:
    """Every data file at ``location`` matching ``pattern``, with its content hash."""
    found = scan(location, pattern)
    get_run_logger().info("%d files match %r in %s", len(found), pattern, location)
    return found


@task(name="load-eval-set", cache_policy=NONE)
def load_eval_set(eval_file: str, data: Sequence[DataFile]) -> list[EvalExample]:
    """The evaluation set; refused when the same content is among the training data."""
    text, digest = read_text(eval_file)
    for data_file in data:
        if data_file.sha256 == digest:
            raise DataLocationError(
                f"the evaluation set {eval_file} is also in the training data as "
                f"{data_file.path}; keep it out of the data location"
            )
    examples = read_eval_set(text, eval_file)
    get_run_logger().info("Evaluation set %s: %d examples", eval_file, len(examples))
    return examples


@task(name="prepare-training-set", cache_policy=NONE)
def prepare_training_set(location: str, files: Sequence[DataFile], work_dir: str) -> TrainingSet:
    """Concatenate ``files`` into one training file in ``work_dir``."""
    built = build_training_set(location, files, Path(work_dir))
    get_run_logger().info(
        "Training set %s: %d files, %d examples (data version %s)",
        built.path,
        len(built.files),
        built.examples,
        built.version,
    )
    return built


async def publish_lineage(state: ContinuousState, variable: str) -> None:
    """Publish the lineage table artifact (``continuous-lineage``) on the flow run."""
    rows = lineage_rows(state)
    if rows:
        await acreate_table_artifact(
            rows,
            key=LINEAGE_KEY,
            description=f"Lineage kept in Variable `{variable}`: data version → job → model "
            f"→ deployment → scores; serving `{state.promoted}`, rollback to "
            f"`{state.previous or 'nothing'}`",
        )


async def publish_summary(result: ContinuousResult, reasons: Sequence[str] = ()) -> None:
    """Publish the run's summary artifact (``continuous-summary``) on the flow run."""
    await acreate_markdown_artifact(
        summary_markdown(result, reasons),
        key=SUMMARY_KEY,
        description=f"Continuous fine-tuning run: {result.outcome}",
    )

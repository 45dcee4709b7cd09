"""The ``continuous-fine-tune`` flow: retrain on new data, promote only what is better.

state → scan → (nothing new: stop) → evaluation set → training set → validate → upload →
submit → wait → retrieve → deploy the candidate → evaluate candidate and served model →
promote (the stable deployment serves the new model) or reject → delete the candidate →
record the state → lineage artifact → notify.

Decisions:

* **A rejection completes the run** and sends its own notification (``🛑 … rejected …``):
  the gate worked, nothing needs fixing, and a Failed run would page people, trigger
  failure automations and invite retries that retrain the same data. Promotions are told
  the same way. Failures, crashes and cancellations go through the usual hooks; a
  completed run has no hook, so a scheduled no-op tells nobody.
* **The state is written once, after every remote step succeeded.** A rejected candidate's
  files count as trained (they are not retrained on every schedule; new content is a new
  file), but nothing is promoted. A run that fails before that leaves the state as it was;
  the re-run finds the same new files, builds the same training set and reuses the uploads,
  the job and the model (content-keyed caches and look-ups before creates). A promotion
  carried out but not recorded is recognised on the re-run: the stable deployment already
  serves the candidate, so it is recorded without judging the model against itself.
* Runs must not overlap (a Variable has no compare-and-set): deploy the flow with
  ``concurrency_limit: 1``.

(No ``from __future__ import annotations`` here: it breaks pydantic parameters under
``flow.serve()``.)
"""

import shutil
import tempfile
from collections.abc import Sequence

from prefect import flow
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from flows._promotion import Round, judge_and_record
from flows._stages import connect_azure, deploy_stage, stage, train_stages
from ftflow.continuous import (
    ContinuousRequest,
    ContinuousResult,
    ContinuousState,
    DataFile,
    LineageEntry,
    fit,
    record_decision,
    select,
)
from ftflow.continuous.state import now
from tasks.continuous import (
    load_eval_set,
    prepare_training_set,
    publish_summary,
    read_state,
    scan_data,
)
from tasks.notify import failure_hooks
from tasks.validate import validate_data

__all__ = ["continuous_fine_tune"]


@flow(name="continuous-fine-tune", **failure_hooks())
async def continuous_fine_tune(request: ContinuousRequest) -> ContinuousResult:
    """Train on data not trained on yet; promote the candidate only if it is better."""
    logger = get_run_logger()
    progress = {"model": request.base_model, "deployment": request.deployment_name}
    with stage("state", progress):
        state = await read_state(request.variable)
    with stage("scan", progress):
        found = scan_data(request.data_location, request.pattern)
        new, chosen = select(found, state.trained, request.training_mode)
    if not new:
        message = (
            f"Nothing new in {request.data_location}: {len(found)} files, all trained on; "
            f"{request.deployment_name} serves {state.promoted or 'nothing yet'}"
        )
        logger.info(message)
        result = ContinuousResult(
            outcome="nothing_new",
            message=message,
            deployment=request.deployment_name,
            promoted_model=state.promoted,
        )
        await publish_summary(result)
        return result
    logger.info("%d new files: %s", len(new), ", ".join(f.name for f in new))
    work_dir = tempfile.mkdtemp(prefix="ftflow-continuous-")
    try:
        with stage("prepare", progress):
            examples = load_eval_set(request.eval_file, found)
            _check_state_fits(request, state, new, found)
            training_set = prepare_training_set(request.data_location, chosen, work_dir)
        start = state.promoted if request.start_from == "promoted" and state.promoted else None
        fine_tune = request.fine_tune_request(str(training_set.path), start or request.base_model)
        progress["model"] = fine_tune.base_model
        with stage("validate", progress):
            validate_data(
                fine_tune.training_file,
                fine_tune.validation_file,
                fine_tune.base_model,
                fine_tune.n_epochs,
            )
        with stage("configure", progress):
            azure = await connect_azure()
        try:
            trained = await train_stages(fine_tune, azure, progress)
            deploy_stage(fine_tune, trained.model, azure, progress)
            round_ = Round(request, state, found, new, training_set, examples)
            return await judge_and_record(round_, trained, azure, progress)
        finally:
            azure.close()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _check_state_fits(
    request: ContinuousRequest,
    state: ContinuousState,
    new: Sequence[DataFile],
    found: Sequence[DataFile],
) -> None:
    """Fail before anything remote when the state after this run would not fit its Variable."""
    placeholder = LineageEntry(
        at=now(),
        run=flow_run.name,
        event="promoted",
        data_version="0" * 16,
        files=len(new),
        examples=10**6,
        trained_from=f"{request.base_model}.ft-{'0' * 32}",
        job=f"ftjob-{'0' * 32}",
        model=f"{request.base_model}.ft-{'0' * 32}",
        deployment=request.deployment_name,
        replaced=f"{request.base_model}.ft-{'0' * 32}",
        metric=request.metric,
        score=0.123456,
        baseline=0.123456,
    )
    after = record_decision(state, placeholder, [f.sha256 for f in new], request.deployment_name)
    fit(after, request.lineage_kept, present=[f.sha256 for f in found])

"""The second half of ``continuous-fine-tune``: judge the deployed candidate, act, record.

Evaluate the candidate and whatever the stable deployment serves (or, the first time, the
base deployment if one is named), decide, promote or reject, delete the candidate, write the
state, publish the lineage and summary, and notify. Each step is a named stage, so a failure
says where it stopped.

(No ``from __future__ import annotations`` in flow modules.)
"""

from collections.abc import Sequence
from dataclasses import dataclass

from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from flows._stages import Trained, stage
from ftflow.azure.clients import AzureClients
from ftflow.azure.deployments import DeploymentSpec
from ftflow.continuous import (
    ContinuousRequest,
    ContinuousResult,
    ContinuousState,
    DataFile,
    LineageEntry,
    TrainingSet,
    record_decision,
)
from ftflow.continuous.report import decision_message
from ftflow.continuous.state import now
from ftflow.evaluation import Decision, EvalExample, Evaluation
from tasks.continuous import publish_lineage, publish_summary, write_state
from tasks.deploy import deploy_model
from tasks.evaluate import evaluate_deployment, judge_candidate
from tasks.promote import notify_decision, read_serving, remove_deployment, run_url

__all__ = ["Round", "judge_and_record"]

FLOW_NAME = "continuous-fine-tune"


@dataclass(frozen=True)
class Round:
    """One run's inputs to the judgement: the request, the state read, the data."""

    request: ContinuousRequest
    state: ContinuousState
    found: Sequence[DataFile]
    new: Sequence[DataFile]
    training_set: TrainingSet
    examples: Sequence[EvalExample]


async def judge_and_record(
    round_: Round, trained: Trained, azure: AzureClients, progress: dict[str, str]
) -> ContinuousResult:
    """Judge ``trained.model`` (deployed as the candidate), act on it and record it all."""
    request, state, new, training_set = (
        round_.request,
        round_.state,
        round_.new,
        round_.training_set,
    )
    logger = get_run_logger()
    stable = request.deployment_name
    with stage("evaluate", progress):
        found = read_serving(stable, azure)
        served = found.model if found and found.provisioning_state == "Succeeded" else None
        if served != state.promoted:
            logger.warning(
                "%s serves %s but the state says %s: judging against what is served",
                stable,
                served or "nothing",
                state.promoted or "nothing",
            )
        decision = _judge(request, round_.examples, served, trained.model, azure)
        replaced = state.promoted if served == trained.model else served
    with stage("promote" if decision.promote else "reject", progress):
        if decision.promote and served != trained.model:
            spec = DeploymentSpec(
                stable, trained.model, request.deployment_sku, request.deployment_capacity
            )
            deploy_model(spec, request.deploy_timeout_minutes, azure)
        remove_deployment(request.candidate, azure, request.deploy_timeout_minutes)
    entry = LineageEntry(
        at=now(),
        run=flow_run.name,
        event="promoted" if decision.promote else "rejected",
        data_version=training_set.version,
        files=len(new),
        examples=training_set.examples,
        trained_from=trained.base_model,
        job=trained.job_id,
        model=trained.model,
        deployment=stable if decision.promote else request.candidate,
        replaced=replaced if decision.promote else None,
        metric=decision.metric,
        score=decision.candidate,
        baseline=decision.baseline,
    )
    with stage("record", progress):
        after = record_decision(state, entry, [f.sha256 for f in new], stable)
        present = [f.sha256 for f in round_.found]
        recorded = await write_state(request.variable, after, request.lineage_kept, present)
    result = _result(request, recorded, entry, decision, training_set, new)
    await publish_lineage(recorded, request.variable)
    await publish_summary(result, decision.reasons)
    message = decision_message(FLOW_NAME, flow_run.name or "", result, decision.reasons, run_url())
    notify_decision(message, request.notify_blocks)
    return result


def _judge(
    request: ContinuousRequest,
    examples: Sequence[EvalExample],
    served: str | None,
    model: str,
    azure: AzureClients,
) -> Decision:
    def evaluate(deployment: str) -> Evaluation:
        return evaluate_deployment(
            deployment,
            examples,
            request.eval_kind,
            azure.data,
            request.answer_timeout_seconds,
            request.eval_temperature,
        )

    candidate = evaluate(request.candidate)
    if served == model:
        # Promoted by an earlier attempt that stopped before recording it: judging the
        # model against itself would reject it.
        reason = f"{request.deployment_name} already serves {model}: an earlier promotion"
        value = candidate.scores[request.metric]
        return Decision(True, request.metric, value, None, request.margin, (reason,))
    if served is not None:
        baseline, name = evaluate(request.deployment_name), "served model"
    elif request.base_deployment is not None:
        baseline, name = evaluate(request.base_deployment), "base model"
    else:
        baseline, name = None, "nothing"
    return judge_candidate(
        examples,
        candidate,
        baseline,
        request.metric,
        request.margin,
        request.min_score,
        name,
    )


def _result(
    request: ContinuousRequest,
    recorded: ContinuousState,
    entry: LineageEntry,
    decision: Decision,
    training_set: TrainingSet,
    new: Sequence[DataFile],
) -> ContinuousResult:
    if decision.promote:
        message = f"Promoted {entry.model} on {request.deployment_name}: {decision.reasons[0]}"
    else:
        message = (
            f"Rejected candidate {entry.model}: {decision.reasons[0]}; "
            f"{request.deployment_name} still serves {recorded.promoted or 'nothing'}, and the "
            f"{len(new)} new files are recorded as trained on"
        )
    return ContinuousResult(
        outcome="promoted" if decision.promote else "rejected",
        message=message,
        deployment=request.deployment_name,
        promoted_model=recorded.promoted,
        candidate_model=entry.model,
        job_id=entry.job,
        data_version=training_set.version,
        new_files=[f.name for f in new],
        metric=decision.metric,
        candidate_score=entry.score,
        baseline_score=decision.baseline,
    )

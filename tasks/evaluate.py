"""Tasks that judge a candidate: ask deployments the evaluation set, compare the scores.

``evaluate`` asks one deployment every evaluation question (never cached: a deployment's
answers are only known by asking; transient errors retried). ``judge`` applies
`ftflow.evaluation.compare` and publishes the ``continuous-evaluation`` table: every
question, its reference, both answers and their scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import openai
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE
from prefect.logging import get_run_logger

from ftflow.continuous.report import evaluation_rows
from ftflow.continuous.serving import ask_all
from ftflow.evaluation import Decision, EvalExample, Evaluation, Kind, compare, score
from tasks._policy import TRANSIENT_RETRIES

__all__ = ["EVALUATION_KEY", "evaluate_deployment", "judge_candidate"]

EVALUATION_KEY = "continuous-evaluation"


@task(
    name="evaluate",
    task_run_name="evaluate-{deployment}",
    cache_policy=NONE,
    **TRANSIENT_RETRIES,
)
def evaluate_deployment(
    deployment: str,
    examples: Sequence[EvalExample],
    kind: Kind,
    client: openai.OpenAI,
    timeout: float = 60.0,
    temperature: float | None = 0.0,
) -> Evaluation:
    """Ask ``deployment`` every example and score its answers."""
    answers = ask_all(client, deployment, examples, timeout=timeout, temperature=temperature)
    scores = score(examples, answers, kind)
    shown = ", ".join(f"{name} {value:.4f}" for name, value in scores.metrics.items())
    get_run_logger().info("Deployment %r on %d examples: %s", deployment, len(examples), shown)
    return Evaluation(deployment, tuple(answers), scores)


@task(name="judge", cache_policy=NONE)
def judge_candidate(
    examples: Sequence[EvalExample],
    candidate: Evaluation,
    baseline: Evaluation | None,
    metric: str,
    margin: float,
    min_score: float,
    baseline_name: str,
) -> Decision:
    """Promote or reject ``candidate`` against ``baseline``; publish the evaluation table."""
    decision = compare(
        candidate.scores,
        baseline.scores if baseline is not None else None,
        margin,
        metric,
        min_score=min_score,
        baseline_name=baseline_name,
    )
    against = f" against `{baseline.deployment}` ({baseline_name})" if baseline else ""
    create_table_artifact(
        evaluation_rows(
            examples,
            candidate.answers,
            baseline.answers if baseline is not None else None,
            candidate.scores.kind,
        ),
        key=EVALUATION_KEY,
        description=f"Evaluation of candidate `{candidate.deployment}`{against}: "
        f"{decision.summary}",
    )
    logger = get_run_logger()
    for reason in decision.reasons:
        logger.info("%s", reason)
    logger.info("Decision: %s", decision.summary)
    return decision

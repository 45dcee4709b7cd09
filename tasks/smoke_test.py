"""Task ``smoke_test``: ask the new deployment its smoke prompts and publish the verdict.

One keyed table artifact, ``smoke-test``: per prompt the fine-tuned answer, the base model's
answer when a base deployment is given, the checks and the verdict. Never cached: every call
asks the deployment again. With ``fail_on_failure`` a failed check raises
:class:`~ftflow.smoke.SmokeTestFailed` naming each failing prompt and check.
"""

from __future__ import annotations

from typing import Any

import openai
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE

from ftflow.request import SmokePrompt
from ftflow.smoke import SmokeTestFailed, run_smoke_test

__all__ = ["SMOKE_KEY", "smoke_test"]

SMOKE_KEY = "smoke-test"


@task(cache_policy=NONE)
def smoke_test(
    deployment: str,
    prompts: list[SmokePrompt],
    base_deployment: str | None,
    fail_on_failure: bool,
    client: openai.OpenAI,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Ask ``deployment`` every prompt, check the answers, publish the table."""
    logger = get_run_logger()
    report = run_smoke_test(
        client, deployment, prompts, base_deployment=base_deployment, timeout=timeout
    )
    against = f" beside base deployment `{base_deployment}`" if base_deployment else ""
    create_table_artifact(
        report.as_rows(),
        key=SMOKE_KEY,
        description=f"Smoke test of deployment `{deployment}`{against}",
    )
    for result in report.results:
        if result.base is not None and result.base.error is not None:
            logger.warning("Base deployment gave no answer: %s", result.base.error)
    line = f"Smoke test of deployment {deployment!r} {report.verdict}"
    if report.passed:
        logger.info(line)
    else:
        logger.warning("%s; %s", line, "; ".join(report.failures()))
    if not report.passed and fail_on_failure:
        raise SmokeTestFailed.from_report(report)
    return report.as_dict()

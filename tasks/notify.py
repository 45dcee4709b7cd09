"""Telling people how a run ended, through Prefect notification blocks, from flow hooks.

Attach the hooks to the flow::

    @flow(name="fine-tune", **notification_hooks())
    async def fine_tune(request: FineTuneRequest) -> FineTuneResult: ...

The flow's one parameter is ``request`` (its ``notify_blocks``, ``base_model`` and
``deployment_name`` are read from the run's parameters); a failing stage raises
`ftflow.notifications.StageFailed`; the result (a mapping or model) has ``job_id``,
``fine_tuned_model``, ``deployment`` and ``smoke_verdict``. Sync and async flows alike.

Each hook builds a `RunOutcome` from the run's final state (`outcome_from_state`), composes
the message (`ftflow.notifications.compose`) and sends it, redacted, through every block named
in ``request.notify_blocks``, ``FTFLOW_NOTIFY_BLOCKS`` and the hooks' defaults (`send`).

A block name is either a block document name (``ft-webhook``: looked up among the blocks
that can notify) or a slug (``slack-webhook/team-alerts``), for any `NotificationBlock`:
`CustomWebhookNotificationBlock`, `SlackWebhook`, `MicrosoftTeamsWebhook`, `SendgridEmail`…
Apprise-based blocks swallow delivery errors unless asked not to, so every block is called
under ``raise_on_failure()``. A hook never raises: a notification that cannot be sent is
logged (without secrets) and the run keeps its real state.

Hooks only run while a process is alive to run them: a dead worker runs none. The crash
automation in `deployments.notifications` covers that case; a hook whose message went out
through every block emits `NOTIFIED_EVENT`, which tells that automation not to repeat it.
"""

import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypedDict
from uuid import UUID

from prefect import Flow
from prefect.blocks.abstract import NotificationBlock, NotificationError
from prefect.blocks.core import Block
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, State
from prefect.events import emit_event
from prefect.exceptions import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    MissingContextError,
    ObjectNotFound,
)
from prefect.flows import FlowStateHook
from prefect.logging import get_logger, get_run_logger
from prefect.settings import get_current_settings
from prefect.utilities.asyncutils import run_coro_as_sync
from pydantic import SecretBytes, SecretStr, ValidationError

from ftflow.notifications import (
    Message,
    RunOutcome,
    StageFailed,
    compose,
    known_secrets,
    redact,
)
from ftflow.settings import NotificationSettings

__all__ = [
    "NOTIFIED_EVENT",
    "FailureHooks",
    "Hook",
    "NotificationHooks",
    "block_document_id",
    "failure_hooks",
    "load_block",
    "notification_hooks",
    "outcome_from_state",
    "send",
]

NOTIFIED_EVENT = "ftflow.flow-run.notified"
"""Emitted (resource: the flow run) once a hook's notification went out through every block."""

# What Prefect returns for a failed state that holds no exception: it only repeats the message.
_STATE_STAND_INS = (FailedRun, CrashedRun, CancelledRun)

Hook = FlowStateHook[..., Any]
"""A flow state hook: called with the flow, its run and the state entered."""


class FailureHooks(TypedDict):
    """Keyword arguments of ``@flow``: one notifying hook per way a run can end badly."""

    on_failure: list[Hook]
    on_crashed: list[Hook]
    on_cancellation: list[Hook]


class NotificationHooks(FailureHooks):
    """`FailureHooks` and a hook telling of completion."""

    on_completion: list[Hook]


def send(message: Message, block_names: Sequence[str], *, secrets: Iterable[str] = ()) -> list[str]:
    """Send ``message`` through each named block; return the names that failed.

    Subject and body are redacted first (``secrets``, each block's own secret fields and the
    credential patterns). One failing block does not stop the others; each failure is logged
    with the block's name and the reason, redacted.
    """
    logger = _logger()
    known = list(secrets)
    failed: list[str] = []
    for name in block_names:
        try:
            error: str | None = run_coro_as_sync(_send_one(name, message, known))
        except Exception as exc:
            error = _describe(exc, known)
        if error is None:
            logger.info("Notification sent through block %r", name)
        else:
            logger.error("Notification through block %r failed: %s", name, error)
            failed.append(name)
    return failed


def load_block(name: str) -> NotificationBlock:
    """The notification block saved as ``name`` (a document name, or ``<type-slug>/<name>``).

    Raises `LookupError` when no block (or more than one, of different types) can notify
    under that name, and `TypeError` when the block found cannot notify.
    """
    return run_coro_as_sync(_load_block(name))


def block_document_id(name: str) -> UUID:
    """The id of the notification block document ``name`` (as in `load_block`), for actions."""
    return run_coro_as_sync(_block_document_id(name))


def outcome_from_state(flow: Flow[..., Any], flow_run: FlowRun, state: State[Any]) -> RunOutcome:
    """What a hook knows about the run: names, state, link, and results or the failure.

    On success the flow's return value (a mapping with ``job_id``, ``fine_tuned_model``,
    ``deployment``, ``smoke_verdict``) fills the outcome. Otherwise a `StageFailed` found in
    the state's exception (or its causes) gives the stage, message and progress; any other
    exception gives its type and message, and a state without one its message.
    """
    request = _request(flow_run)
    fields: dict[str, str | None] = {
        "model": _text(request.get("base_model")),
        "deployment": _text(request.get("deployment_name")),
    }
    result: Any = None if state.is_cancelling() or state.is_cancelled() else _result(state)
    if hasattr(result, "model_dump"):
        result = result.model_dump()
    if state.is_completed():
        if isinstance(result, Mapping):
            fields.update(
                job_id=_text(result.get("job_id")),
                model=_text(result.get("fine_tuned_model")) or fields["model"],
                deployment=_text(result.get("deployment")) or fields["deployment"],
                smoke_verdict=_text(result.get("smoke_verdict")),
            )
    elif isinstance(result, _STATE_STAND_INS):
        fields["error"] = str(result) or state.message or None
    elif isinstance(result, BaseException):
        failure = _stage_failure(result)
        if failure is None:
            fields["error"] = _describe_plain(result)
        else:
            progress = failure.progress
            fields.update(
                failed_stage=failure.stage,
                error=failure.message,
                job_id=progress.get("job_id"),
                model=progress.get("model") or progress.get("fine_tuned_model") or fields["model"],
                deployment=progress.get("deployment") or fields["deployment"],
            )
    else:
        fields["error"] = state.message or None
    return RunOutcome(
        flow_name=flow.name,
        run_name=flow_run.name,
        state=state.name or state.type.value.title(),
        run_url=_run_url(flow_run),
        **fields,
    )


def notification_hooks(default_blocks: Sequence[str] = ()) -> NotificationHooks:
    """Hooks for ``@flow(**notification_hooks())``: completion, failure, crash, cancellation.

    Blocks notified: the run's ``request.notify_blocks``, then ``FTFLOW_NOTIFY_BLOCKS``
    (`NotificationSettings`), then ``default_blocks``, without repeats. Secrets redacted:
    `ftflow.notifications.known_secrets` at the time the hook runs.
    """
    return NotificationHooks(
        on_completion=[_hook("completion", tuple(default_blocks))],
        **failure_hooks(default_blocks),
    )


def failure_hooks(default_blocks: Sequence[str] = ()) -> FailureHooks:
    """Hooks for ``@flow(**failure_hooks())``: failure, crash and cancellation only, for
    flows that tell of their success in a message of their own."""
    defaults = tuple(default_blocks)
    return FailureHooks(
        on_failure=[_hook("failure", defaults)],
        on_crashed=[_hook("crash", defaults)],
        on_cancellation=[_hook("cancellation", defaults)],
    )


def _hook(kind: str, default_blocks: tuple[str, ...]) -> Hook:
    def hook(flow: Flow[..., Any], flow_run: FlowRun, state: State[Any]) -> None:
        try:
            _notify(flow, flow_run, state, default_blocks)
        except Exception as exc:
            try:
                reason = _describe(exc, known_secrets())
            except Exception:
                reason = type(exc).__name__
            _logger().error("The %s notification of run %r failed: %s", kind, flow_run.name, reason)

    hook.__name__ = hook.__qualname__ = f"notify_{kind}"
    hook.__doc__ = f"Send the {kind} notification of a flow run; never raises."
    return hook


def _notify(
    flow: Flow[..., Any], flow_run: FlowRun, state: State[Any], default_blocks: tuple[str, ...]
) -> None:
    names = _block_names(flow_run, default_blocks)
    if not names:
        _logger().warning("No notification blocks named for run %r; nobody told", flow_run.name)
        return
    outcome = outcome_from_state(flow, flow_run, state)
    failed = send(compose(outcome), names, secrets=known_secrets())
    if failed:
        _logger().error(
            "Run %r: %d of %d notifications failed", flow_run.name, len(failed), len(names)
        )
    else:
        _record_told(flow, flow_run)


def _record_told(flow: Flow[..., Any], flow_run: FlowRun) -> None:
    """Emit `NOTIFIED_EVENT` for the run, so the server's automation does not tell again."""
    emit_event(
        event=NOTIFIED_EVENT,
        resource={"prefect.resource.id": f"prefect.flow-run.{flow_run.id}"},
        related=[
            {
                "prefect.resource.id": f"prefect.flow.{flow_run.flow_id}",
                "prefect.resource.role": "flow",
                "prefect.resource.name": flow.name,
            }
        ],
    )


def _block_names(flow_run: FlowRun, default_blocks: tuple[str, ...]) -> list[str]:
    requested = _request(flow_run).get("notify_blocks") or []
    try:
        configured = NotificationSettings().blocks
    except ValidationError as exc:
        _logger().error("FTFLOW_NOTIFY_BLOCKS is not a JSON list of names: %s", exc.errors()[0])
        configured = []
    names = [str(name) for name in (*requested, *configured, *default_blocks)]
    return list(dict.fromkeys(name for name in names if name))


def _request(flow_run: FlowRun) -> Mapping[str, Any]:
    request: Any = (flow_run.parameters or {}).get("request")
    if hasattr(request, "model_dump"):
        request = request.model_dump()
    return request if isinstance(request, Mapping) else {}


def _result(state: State[Any]) -> Any:
    # state.result() returns a coroutine inside an async flow's context: ask for the async
    # side explicitly, so sync and async flows read their results alike.
    try:
        return run_coro_as_sync(state.aresult(raise_on_failure=False))
    except Exception:  # not persisted, storage gone: the state's message still tells
        return None


def _stage_failure(exc: BaseException) -> StageFailed | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, StageFailed):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _run_url(flow_run: FlowRun) -> str | None:
    ui_url = get_current_settings().ui_url
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run.id}" if ui_url else None


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


async def _send_one(name: str, message: Message, secrets: list[str]) -> str | None:
    """Deliver through one block; the failure's reason, redacted, or None when sent."""
    try:
        block = await _load_block(name)
    except Exception as exc:
        return _describe(exc, secrets)
    known = [*secrets, *_block_secrets(block)]
    subject, body = redact(message.subject, known), redact(message.body, known)
    try:
        with block.raise_on_failure():
            await _notify_async(block, body, subject)
    except Exception as exc:
        return _describe(exc, known)
    return None


async def _notify_async(block: NotificationBlock, body: str, subject: str) -> None:
    # Prefect's blocks dispatch notify() to sync or async by the *run* context, which a hook
    # may share with a sync flow even on an event loop: call the async side explicitly.
    anotify: Callable[..., Coroutine[Any, Any, None]] | None = getattr(block, "anotify", None)
    if anotify is not None:
        await anotify(body, subject=subject)
        return
    outcome: Any = block.notify(body, subject=subject)
    if isinstance(outcome, Coroutine):
        await outcome


async def _load_block(name: str) -> NotificationBlock:
    reference = name if "/" in name else await _qualified_name(name)
    try:
        block = await Block.aload(reference)
    except ValueError as exc:  # not found; a block that fails validation says so itself
        if "Unable to find block document" not in str(exc):
            raise
        raise LookupError(f"no notification block {reference!r}") from exc
    if not isinstance(block, NotificationBlock):
        raise TypeError(f"block {reference!r} is a {type(block).__name__}, which cannot notify")
    return block


async def _block_document_id(name: str) -> UUID:
    reference = name if "/" in name else await _qualified_name(name)
    slug, _, document_name = reference.partition("/")
    async with get_client() as client:
        try:
            document = await client.read_block_document_by_name(
                name=document_name, block_type_slug=slug, include_secrets=False
            )
        except ObjectNotFound as exc:
            raise LookupError(f"no notification block {reference!r}") from exc
    return document.id


async def _qualified_name(name: str) -> str:
    """``<type-slug>/<name>`` of the one notify-capable block document called ``name``."""
    async with get_client() as client:
        response = await client.request(
            "POST",
            "/block_documents/filter",
            json={
                "block_documents": {"name": {"any_": [name]}},
                "block_schemas": {"block_capabilities": {"all_": ["notify"]}},
                "include_secrets": False,
                "limit": 10,
            },
        )
    slugs = sorted({document["block_type"]["slug"] for document in response.json()})
    if not slugs:
        raise LookupError(f"no notification block named {name!r}")
    if len(slugs) > 1:
        choices = ", ".join(f"{slug}/{name}" for slug in slugs)
        raise LookupError(f"several notification blocks are named {name!r}; use one of {choices}")
    return f"{slugs[0]}/{name}"


def _block_secrets(block: Block) -> list[str]:
    """The values of ``block``'s secret fields (webhook URLs, tokens, secret headers)."""
    found: list[str] = []
    for field in type(block).model_fields:
        _collect_secrets(getattr(block, field, None), found)
    return found


def _collect_secrets(value: object, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, SecretBytes):
        found.append(value.get_secret_value().decode(errors="replace"))
    elif hasattr(value, "get_secret_value"):  # SecretDict and the like
        _collect_plain(value.get_secret_value(), found)


def _collect_plain(value: object, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_plain(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_plain(item, found)


def _describe(exc: BaseException, secrets: Iterable[str]) -> str:
    return redact(_describe_plain(exc), secrets)


def _describe_plain(exc: BaseException) -> str:
    if isinstance(exc, NotificationError):
        detail = exc.log.strip() or "the block reported a failed delivery"
    else:
        detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _logger() -> "logging.Logger | logging.LoggerAdapter[logging.Logger]":
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("ftflow.notify")

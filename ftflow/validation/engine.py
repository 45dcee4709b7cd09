"""The data gate: validate a training file (and a validation file) for one model.

Files are streamed in chunks of a few MB, scanned in worker processes (one per core) and
merged in file order, so memory stays flat whatever the file size. What needs the whole file
(duplicates, train/validation overlap, format mixing, example counts) is decided in the merge
from compact per-example digests.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from types import TracebackType

from ftflow.catalog import DEFAULT_TRAINING_PRICES, ModelFacts, base_model_of, resolve_model
from ftflow.tokenizers import load_encoding, verify_encoding
from ftflow.validation.findings import FindingLog
from ftflow.validation.report import FileReport, Role, ValidationReport
from ftflow.validation.scan import (
    ChunkJob,
    ChunkResult,
    Format,
    Limits,
    report_blank,
    scan_chunk,
)
from ftflow.validation.stats import TokenDistribution, estimate_billing
from ftflow.validation.tokens import TokenCounter

__all__ = ["UnreadableInputError", "ValidationOptions", "validate_dataset"]

_METHOD_OF: Mapping[Format, str] = {"chat": "supervised", "dpo": "dpo"}
# Below this many chunks a file is scanned faster than a helper process starts.
_MIN_CHUNKS_FOR_POOL = 4


class UnreadableInputError(ValueError):
    """A data file that does not exist or cannot be read: a usage problem, not a finding."""


@dataclass(frozen=True)
class ValidationOptions:
    """How the gate runs; the defaults follow the service's limits."""

    workers: int = 0
    cap: int = 20
    chunk_bytes: int = 4 * 1024 * 1024
    max_file_bytes: int = 512 * 1024 * 1024
    min_examples: int = 10
    recommended_examples: int = 100
    prices: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TRAINING_PRICES))


# ---------------------------------------------------------------------------- scanning


_worker_counter: TokenCounter | None = None


def _start_worker(encoding: str, encodings_dir: str) -> None:
    global _worker_counter  # noqa: PLW0603 - one counter per worker process
    _worker_counter = TokenCounter(load_encoding(encoding, Path(encodings_dir)))


def _scan_in_worker(job: ChunkJob) -> ChunkResult:
    assert _worker_counter is not None, "worker started without its encoding"
    return scan_chunk(job, _worker_counter)


class _Scanner(AbstractContextManager["_Scanner"]):
    """Scans chunks in this process or in a pool of worker processes, results in order."""

    def __init__(self, encoding: str, encodings_dir: Path, workers: int) -> None:
        self._encoding = encoding
        self._dir = encodings_dir
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._counter: TokenCounter | None = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def scan(self, jobs: list[ChunkJob]) -> Iterator[ChunkResult]:
        """Results in file order. This process scans too, whenever the helpers are busy."""
        if self._counter is None:
            self._counter = TokenCounter(load_encoding(self._encoding, self._dir))
        pool = self._ensure_pool() if len(jobs) >= _MIN_CHUNKS_FOR_POOL else None
        if pool is None:
            for job in jobs:
                yield scan_chunk(job, self._counter)
            return
        queue: deque[Future[ChunkResult] | ChunkResult] = deque()
        for job in jobs:
            busy = sum(1 for item in queue if isinstance(item, Future) and not item.done())
            if busy < 2 * (self._workers - 1):
                queue.append(pool.submit(_scan_in_worker, job))
            else:
                queue.append(scan_chunk(job, self._counter))
            while queue and (not isinstance(queue[0], Future) or queue[0].done()):
                yield _result(queue.popleft())
        while queue:
            yield _result(queue.popleft())

    def _ensure_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and self._workers > 1:
            verify_encoding(self._encoding, self._dir)  # fail here, clearly, if it is missing
            self._pool = _start_pool(self._workers - 1, self._encoding, self._dir)
        return self._pool


def _start_pool(helpers: int, encoding: str, encodings_dir: Path) -> ProcessPoolExecutor:
    """Helper processes that share this process's tokenizer tables where it is safe.

    Forked helpers inherit the loaded encoding (its ~50 MB of tables stay shared, never
    written). In a multi-threaded caller, or where fork is unavailable, helpers are fresh
    interpreters that load their own.
    """
    global _worker_counter  # noqa: PLW0603 - inherited by forked helpers
    # Forking a process that runs other threads (a Prefect worker) can deadlock the child.
    if "fork" in get_all_start_methods() and threading.active_count() == 1:
        _worker_counter = TokenCounter(load_encoding(encoding, encodings_dir))
        return ProcessPoolExecutor(max_workers=helpers, mp_context=get_context("fork"))
    return ProcessPoolExecutor(
        max_workers=helpers,
        mp_context=get_context("spawn"),
        initializer=_start_worker,
        initargs=(encoding, str(encodings_dir)),
    )


def _result(item: Future[ChunkResult] | ChunkResult) -> ChunkResult:
    return item.result() if isinstance(item, Future) else item


def _plan(path: Path, size: int, chunk_bytes: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of about ``chunk_bytes`` that each end just after a newline."""
    with path.open("rb") as handle:
        start = 0
        while start < size:
            end = start + chunk_bytes
            if end < size:
                handle.seek(end)
                handle.readline()
                end = handle.tell()
            yield start, min(end, size)
            start = end


# ---------------------------------------------------------------------------- merging


@dataclass
class _Seen:
    """Examples seen so far, by normalised digest: the first one's line and exact digest."""

    first: dict[int, int] = field(default_factory=dict)
    lines: array[int] = field(default_factory=lambda: array("l"))
    exact: array[int] = field(default_factory=lambda: array("q"))

    def line_of(self, normal: int) -> int | None:
        ordinal = self.first.get(normal)
        return None if ordinal is None else self.lines[ordinal]


@dataclass
class _FileScan:
    report: FileReport
    seen: _Seen


@dataclass
class _Merge:
    """Folds chunk results, in file order, into one file's findings and figures."""

    log: FindingLog
    overlap: _Seen | None = None
    overlap_label: str = ""
    lines: int = 0
    tokens: array[int] = field(default_factory=lambda: array("l"))
    trainable: int = 0
    messages: int = 0
    seen: _Seen = field(default_factory=_Seen)
    formats: dict[str, int] = field(default_factory=dict)
    format_lines: dict[str, list[int]] = field(default_factory=dict)
    bom: bool = False
    crlf_lines: int = 0
    first_crlf: int | None = None
    blank: list[int] = field(default_factory=list)
    blank_count: int = 0

    def add(self, result: ChunkResult) -> None:
        offset = self.lines
        if result.has_content and self.blank_count:
            report_blank(self.log, self.blank, self.blank_count, "blank-line")
            self.blank, self.blank_count = [], 0
        self.log.merge(result.log, offset)
        room = max(0, self.log.cap - len(self.blank))
        self.blank += [line + offset for line in result.tail_blank[:room]]
        self.blank_count += result.tail_blank_count
        for i, relative in enumerate(result.example_lines):
            self._repeats(relative + offset, result.exact[i], result.normal[i])
        self.tokens.extend(result.tokens)
        self.trainable += sum(result.trainable)
        self.messages += sum(result.messages)
        for kind, count in result.formats.items():
            self.formats[kind] = self.formats.get(kind, 0) + count
            shifted = [line + offset for line in result.format_lines.get(kind, [])]
            self.format_lines.setdefault(kind, []).extend(shifted)
        self.bom = self.bom or result.bom
        if result.first_crlf is not None and self.first_crlf is None:
            self.first_crlf = result.first_crlf + offset
        self.crlf_lines += result.crlf_lines
        self.lines += result.lines

    def _repeats(self, line: int, exact: int, normal: int) -> None:
        seen = self.seen
        ordinal = len(seen.lines)
        seen.lines.append(line)
        seen.exact.append(exact)
        first = seen.first.setdefault(normal, ordinal)
        if first != ordinal:
            if seen.exact[first] == exact:
                message = f"same as line {seen.lines[first]}"
                self.log.add("duplicate-example", line, None, message)
            else:
                message = f"same as line {seen.lines[first]} but for case or spacing"
                self.log.add("near-duplicate-example", line, None, message)
        if self.overlap is not None:
            earlier = self.overlap.line_of(normal)
            if earlier is not None:
                message = f"same conversation as {self.overlap_label} line {earlier}"
                self.log.add("train-validation-overlap", line, None, message)

    def finish(self) -> None:
        """Blank lines after the last example are trailing, not inside the file."""
        if self.blank_count:
            report_blank(self.log, self.blank, self.blank_count, "trailing-blank-line")

    def file_format(self) -> Format | None:
        """The file's format (the majority's); examples of the other format are errors."""
        if not self.formats:
            return None
        main: Format = (
            "chat" if self.formats.get("chat", 0) >= self.formats.get("dpo", 0) else "dpo"
        )
        other: Format = "dpo" if main == "chat" else "chat"
        lines = self.format_lines.get(other, [])
        for line in lines:
            message = f"a {other} example in a file of {self.formats[main]:,} {main} examples"
            self.log.add("mixed-format", line, None, message)
        self.log.count_only("mixed-format", self.formats.get(other, 0) - len(lines))
        return main


class _Gate:
    """Validates files one after the other with one scanner and one model."""

    def __init__(self, facts: ModelFacts, options: ValidationOptions, scanner: _Scanner) -> None:
        self.facts = facts
        self.options = options
        self.scanner = scanner
        self.limits = Limits(facts.max_example_tokens)

    def scan(self, path: Path, role: Role, overlap: _FileScan | None = None) -> _FileScan:
        label = str(path)
        size = path.stat().st_size
        log = FindingLog(label, self.options.cap)
        if size > self.options.max_file_bytes:
            limit = self.options.max_file_bytes
            message = f"{size:,} bytes; the limit is {limit:,} bytes ({limit / 2**20:,.0f} MB)"
            log.add("file-too-large", None, None, message)
            empty = self._report(label, role, None, size, 0, array("l"), 0, 0, log)
            return _FileScan(empty, _Seen())
        plan = list(_plan(path, size, self.options.chunk_bytes))
        jobs = [
            ChunkJob(label, label, start, end, i, self.limits, self.options.cap)
            for i, (start, end) in enumerate(plan)
        ]
        merge = _Merge(log)
        if overlap is not None:
            merge.overlap, merge.overlap_label = overlap.seen, overlap.report.path
        for result in self.scanner.scan(jobs):
            merge.add(result)
        merge.finish()
        if merge.bom:
            log.add("bom", 1, None, "the file starts with a UTF-8 byte order mark")
        if merge.crlf_lines:
            message = f"{merge.crlf_lines:,} lines end with CRLF"
            log.add("crlf", merge.first_crlf, None, message)
        kind = merge.file_format()
        examples = len(merge.tokens)
        if examples < self.options.min_examples:
            log.add("too-few-examples", None, None, f"{examples} examples; at least 10 needed")
        elif role == "training" and examples < self.options.recommended_examples:
            log.add("few-examples", None, None, f"{examples} examples")
        report = self._report(
            label, role, kind, size, merge.lines, merge.tokens, merge.trainable, merge.messages, log
        )
        return _FileScan(report, merge.seen)

    def _report(
        self,
        label: str,
        role: Role,
        kind: Format | None,
        size: int,
        lines: int,
        tokens: array[int],
        trainable: int,
        messages: int,
        log: FindingLog,
    ) -> FileReport:
        findings = sorted(log.kept, key=lambda f: (f.line or 0, f.kind))
        return FileReport(
            label,
            role,
            kind,
            size,
            lines,
            messages,
            TokenDistribution.of(tokens),
            trainable,
            findings,
            dict(log.counts),
            log.omitted(),
        )


def _readable(path: Path) -> Path:
    if not path.exists():
        raise UnreadableInputError(f"{path}: no such file")
    if not path.is_file():
        raise UnreadableInputError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise UnreadableInputError(f"{path}: permission denied")
    return path


def _worker_count(requested: int) -> int:
    return requested if requested > 0 else max(1, len(os.sched_getaffinity(0)))


def validate_dataset(
    training: Path,
    *,
    model: str,
    encodings_dir: Path,
    validation: Path | None = None,
    epochs: int | None = None,
    options: ValidationOptions | None = None,
) -> ValidationReport:
    """Validate ``training`` (and ``validation``) for ``model``.

    Raises :class:`~ftflow.catalog.UnknownModelError` for an unknown model,
    :class:`UnreadableInputError` for a missing or unreadable file, and
    :class:`~ftflow.tokenizers.TokenizerUnavailableError` if the encoding is not installed.
    Everything wrong *inside* the files is a finding in the report, never an exception.
    """
    options = options or ValidationOptions()
    facts = resolve_model(model)
    _readable(training)
    if validation is not None:
        _readable(validation)
    report = ValidationReport(
        model, base_model_of(model), facts.encoding, facts.max_example_tokens, None
    )
    scanner = _Scanner(facts.encoding, encodings_dir, _worker_count(options.workers))
    with scanner:
        gate = _Gate(facts, options, scanner)
        train = gate.scan(training, "training")
        files = [train.report]
        if validation is not None:
            checked = gate.scan(validation, "validation", overlap=train)
            files.append(checked.report)
    _check_method(facts, files)
    report.files = files
    report.format = train.report.format
    report.billing = estimate_billing(
        facts.name,
        train.report.tokens.examples,
        train.report.tokens.total,
        epochs,
        options.prices,
    )
    return report


def _check_method(facts: ModelFacts, files: list[FileReport]) -> None:
    """File-level findings that need the model and both files' formats."""
    train = files[0]
    extra = FindingLog(train.path)
    if train.format is not None and _METHOD_OF[train.format] not in facts.methods:
        methods = ", ".join(facts.methods)
        extra.add(
            "method-unsupported",
            None,
            None,
            f"{train.format} data trains with {_METHOD_OF[train.format]}, "
            f"but {facts.name} supports {methods}",
        )
    for other in files[1:]:
        if other.format is not None and train.format is not None and other.format != train.format:
            extra.file = other.path
            extra.add(
                "mixed-format",
                None,
                None,
                f"the validation file is {other.format} but the training file is {train.format}",
            )
    for finding in extra.kept:
        target = next(f for f in files if f.path == finding.file)
        target.findings.insert(0, finding)
        target.counts[finding.kind] = target.counts.get(finding.kind, 0) + 1

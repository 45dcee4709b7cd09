"""The limit: tokenizing a file's message text, and nothing else, on every core.

The texts are those a validator must tokenize: each message's ``content`` and ``name``, each
tool call's function name and ``arguments``, and each example's ``tools`` as compact JSON
(roles and call ids are left out). Setup, not timed: read the file and hold the texts in
memory. Timed: ``encode_ordinary`` of every text, spread over N workers (default: the cores
we may use), in two ways, the faster being the limit:

* processes: each worker process loads its own interleaved share of the texts during setup
  (sharing a parent's strings would time copy-on-write page faults), then all start at once;
* threads: a thread pool over chunks of the texts. tiktoken releases the GIL while it
  encodes, as ``Encoding.encode_ordinary_batch(texts, num_threads=N)`` relies on; this does
  the same without keeping every token list alive.

Throughput is the file's size over the time: a validator that also reads, parses and checks
the file can at best approach it. The shared system prompt is tokenized on every example
like all other text; a second figure times only the distinct texts, the work left to a
validator that memoises repeated strings (whose ceiling is then higher).

Usage: ``python benchmarks/bare_tokenization.py PATH [--encoding E] [--workers N] [--repeat N]
[--json]`` (``--repeat``: keep the fastest of N timings, as noise only ever slows things down)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

CHUNK = 2048


def message_texts(example: Any) -> tuple[list[str], list[str]]:
    """The texts of one example: (message text, tool text: calls and definitions)."""
    plain: list[str] = []
    tools: list[str] = []
    if not isinstance(example, dict):
        return plain, tools
    for message in example.get("messages") or ():
        if not isinstance(message, dict):
            continue
        for key in ("content", "name"):
            value = message.get(key)
            if isinstance(value, str):
                plain.append(value)
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                tools.extend(
                    v for k in ("name", "arguments") if isinstance(v := function.get(k), str)
                )
    if example.get("tools"):
        tools.append(json.dumps(example["tools"], ensure_ascii=False, separators=(",", ":")))
    return plain, tools


_TEXTS: list[str] = []  # the threads' input
_ENCODING: Any = None


def read_texts(path: Path) -> tuple[list[str], list[str]]:
    """All texts of the file: (message text, tool text)."""
    plain: list[str] = []
    tools: list[str] = []
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                more_plain, more_tools = message_texts(json.loads(line))
                plain.extend(more_plain)
                tools.extend(more_tools)
    return plain, tools


def _count(start: int) -> int:
    encode = _ENCODING.encode_ordinary
    return sum(len(encode(text)) for text in _TEXTS[start : start + CHUNK])


def time_threads(texts: list[str], workers: int) -> tuple[int, float]:
    """Tokenize ``texts`` on a pool of threads; (tokens, seconds)."""
    global _TEXTS  # noqa: PLW0603 - the threads' shared input
    _TEXTS = texts
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_count, range(workers)))  # start the threads before timing
        started = time.perf_counter()
        tokens = sum(pool.map(_count, range(0, len(texts), CHUNK)))
        return tokens, time.perf_counter() - started


def _process(conn: Connection, path: Path, encoding_name: str, index: int, workers: int) -> None:
    """A worker: load its own share of the texts (no copy-on-write from a parent), then on
    each message tokenize the share it names (0: all texts, 1: distinct texts); send the count."""
    import tiktoken

    encode = tiktoken.get_encoding(encoding_name).encode_ordinary
    plain, tools = read_texts(path)
    texts = plain + tools
    shares = [texts[index::workers], list(dict.fromkeys(texts))[index::workers]]
    del plain, tools, texts
    encode("warm up the encoder")
    conn.send("ready")
    while (which := conn.recv()) is not None:
        conn.send(sum(len(encode(text)) for text in shares[which]))


def time_processes(
    path: Path, encoding_name: str, workers: int, repeat: int
) -> list[tuple[int, float]]:
    """Tokenize all texts, then the distinct texts, on worker processes; (tokens, best time)."""
    context = multiprocessing.get_context("fork")
    pipes = []
    procs = []
    for index in range(workers):
        ours, theirs = context.Pipe()
        args = (theirs, path, encoding_name, index, workers)
        procs.append(context.Process(target=_process, args=args))
        procs[-1].start()
        pipes.append(ours)
    for pipe in pipes:
        pipe.recv()  # every worker has its texts in memory
    results = []
    for which in (0, 1):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            for pipe in pipes:
                pipe.send(which)
            tokens = sum(pipe.recv() for pipe in pipes)
            times.append(time.perf_counter() - started)
        results.append((tokens, min(times)))
    for pipe, proc in zip(pipes, procs, strict=True):
        pipe.send(None)
        proc.join()
    return results


def measure(path: Path, encoding_name: str, workers: int, repeat: int = 1) -> dict[str, Any]:
    """Time tokenizing the texts of ``path`` (setup untimed); the figures as a dict."""
    global _ENCODING  # noqa: PLW0603
    import tiktoken

    size_mb = path.stat().st_size / 1e6
    timed = time_processes(path, encoding_name, workers, repeat)
    (tokens, seconds), (distinct_tokens, distinct_s) = timed
    runs = {"processes": {"seconds": seconds, "tokens_per_s": tokens / seconds}}
    _ENCODING = encoding = tiktoken.get_encoding(encoding_name)
    plain, tools = read_texts(path)
    texts = plain + tools
    encoding.encode_ordinary("warm up the encoder")
    thread_runs = [time_threads(texts, workers) for _ in range(repeat)]
    assert all(count == tokens for count, _ in thread_runs), (thread_runs, tokens)
    thread_seconds = min(seconds for _, seconds in thread_runs)
    runs["threads"] = {"seconds": thread_seconds, "tokens_per_s": tokens / thread_seconds}
    for run in runs.values():
        run["mb_per_s"] = size_mb / run["seconds"]
    best = max(runs, key=lambda mode: runs[mode]["mb_per_s"])
    return {
        "tool": "bare_tokenization",
        "file": str(path),
        "encoding": encoding_name,
        "workers": workers,
        "file_mb": size_mb,
        "texts": len(texts),
        "text_mb": sum(len(text.encode()) for text in texts) / 1e6,
        "tokens": tokens,
        "tool_tokens": sum(len(encoding.encode_ordinary(text)) for text in tools),
        "runs": runs,
        "best": best,
        "seconds": runs[best]["seconds"],
        "mb_per_s": runs[best]["mb_per_s"],
        "tokens_per_s": runs[best]["tokens_per_s"],
        "distinct_texts": len(dict.fromkeys(texts)),
        "distinct_tokens": distinct_tokens,
        "distinct_mb_per_s": size_mb / distinct_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time bare tokenization of a file's text.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--encoding", default="o200k_base")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=1, help="keep the best of N timings")
    parser.add_argument("--json", action="store_true", help="print one line of JSON")
    args = parser.parse_args(argv)
    default_cache = Path(sys.prefix) / "share" / "ftflow" / "tiktoken"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(default_cache))
    result = measure(args.path, args.encoding, max(1, args.workers), max(1, args.repeat))
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['file']}: {result['texts']:,} texts, {result['tokens']:,} tokens "
        f"({result['tool_tokens']:,} in tool calls and definitions)"
    )
    for mode, run in result["runs"].items():
        print(
            f"bare tokenization, {result['workers']} {mode}: {run['seconds']:.2f}s, "
            f"{run['tokens_per_s'] / 1e6:.2f} M tokens/s, {run['mb_per_s']:.1f} MB/s of file"
        )
    print(
        f"distinct texts only ({result['distinct_texts']:,}, {result['distinct_tokens']:,} "
        f"tokens): {result['distinct_mb_per_s']:.1f} MB/s of file"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

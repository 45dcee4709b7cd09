"""The validator benchmark: ``ftflow validate`` against the cookbook baseline, in one run.

Ensures the generated file exists (``generate_chat.py``), runs the baseline and ``ftflow
validate FILE --model M --json`` as subprocesses under ``_measure.py`` (wall time, CPU time,
peak PSS and summed RSS of the process tree), times bare tokenization (the limit), then prints
them side by side with the ratios, PASS/FAIL against the targets (>= 3x the baseline's
throughput, peak PSS < 200 MB) and whether both agree on the examples and tokens.
``--record`` appends the figures and the machine to ``benchmarks/RESULTS.md``. MB is 10^6
bytes. Exit 0 when every target passes, else 1.

Usage: ``python benchmarks/validate_throughput.py [--examples N] [--repeat N] [--record]``
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from _measure import foreign_warning, record  # type: ignore[import-not-found, unused-ignore]

from ftflow.catalog import resolve_model

HERE = Path(__file__).resolve().parent
SPEEDUP_TARGET = 3.0
PEAK_TARGET_MB = 200.0
MODEL = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True, slots=True)
class Measured:
    """One command run under ``_measure.py``: its figures and its output."""

    returncode: int
    wall_s: float
    cpu_s: float
    peak_tree_rss: int
    peak_tree_pss: int
    peak_processes: int
    foreign_cpu_s: float
    stdout: str
    stderr: str


def run_measured(command: list[str], env: dict[str, str], interval: float) -> Measured:
    """Run ``command`` under ``_measure.py`` (time, CPU, peak memory of its process tree)."""
    with tempfile.TemporaryDirectory(prefix="ftflow-bench-") as tmp:
        out = Path(tmp)
        wrapper = [sys.executable, str(HERE / "_measure.py"), "--out", tmp]
        wrapper += ["--interval", str(interval), "--", *command]
        subprocess.run(wrapper, check=True, env=env, cwd=HERE.parent)
        doc = json.loads((out / "measure.json").read_text(encoding="utf-8"))
        figures = {k: doc[k] for k in Measured.__dataclass_fields__ if k in doc}
        return Measured(
            **figures,
            stdout=(out / "stdout").read_text(encoding="utf-8", errors="replace"),
            stderr=(out / "stderr").read_text(encoding="utf-8", errors="replace"),
        )


def data_path(examples: int) -> Path:
    label = f"{examples // 1000}k" if examples % 1000 == 0 else str(examples)
    return HERE / "out" / f"chat_{label}.jsonl"


def validator_prefix(override: str | None) -> list[str]:
    """How to call ``ftflow``: the script next to this interpreter, or ``--validator-cmd``."""
    if override:
        return shlex.split(override)
    return [str(Path(sys.executable).parent / "ftflow")]  # the venv's console script


def last_json(text: str) -> Any:
    """The JSON document on stdout: all of it, else its last line; None if neither parses."""
    for candidate in (text, text.strip().rsplit("\n", 1)[-1]):
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    return None


def dig(doc: Any, *paths: tuple[str, ...]) -> int | None:
    """The first int found at one of ``paths`` in nested dicts."""
    for path in paths:
        node = doc
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, int) and not isinstance(node, bool):
            return node
    return None


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(8 << 20):
            pass


def row(name: str, run: Measured | None, size_mb: float) -> str:
    if run is None:
        return f"{name:<28}{'no result':>16}"
    return (
        f"{name:<28}{run.wall_s:>8.2f}{size_mb / run.wall_s:>8.1f}{run.peak_tree_rss / 1e6:>11.1f}"
        f"{run.peak_tree_pss / 1e6:>10.1f}{run.peak_processes:>7}{run.cpu_s:>8.1f}"
        f"{run.cpu_s / run.wall_s:>7.2f}"
    )


def report(
    path: Path, size_mb: float, base: Measured, val: Measured | None, bare: Any
) -> tuple[list[str], bool]:
    """The table, the ratios and the verdicts; and whether every target passed."""
    columns = ("seconds", 8), ("MB/s", 8), ("peak RSS", 11), ("peak PSS", 10), ("procs", 7)
    lines = [
        f"file: {path.relative_to(HERE.parent)} ({size_mb:.1f} MB); "
        "peaks: summed memory of the process tree, MB",
        f"{'':<28}" + "".join(f"{c:>{w}}" for c, w in columns) + f"{'CPU s':>8}{'cores':>7}",
        row("cookbook baseline", base, size_mb),
        row("ftflow validate", val, size_mb),
    ]
    if bare:
        runs = ", ".join(f"{m} {r['mb_per_s']:.1f}" for m, r in bare["runs"].items())
        lines.append(
            f"{'bare tokenization (limit)':<28}{bare['seconds']:>8.2f}{bare['mb_per_s']:>8.1f}"
            f"  ({bare['workers']} workers, MB/s: {runs}; texts in memory)"
        )
    if val is None:
        return [*lines, "validator: no result: FAIL"], False
    speedup = base.wall_s / val.wall_s
    # PSS divides pages shared between processes (the tokenizer tables a forked helper shares
    # with its parent) among them, so the tree's PSS is the memory the machine spends.
    # Summed RSS counts shared pages once per process; it is printed alongside.
    peak_mb = val.peak_tree_pss / 1e6
    ok_speed, ok_peak = speedup >= SPEEDUP_TARGET, peak_mb < PEAK_TARGET_MB
    lines.append(
        f"validator / baseline throughput: {speedup:.2f}x (target >= {SPEEDUP_TARGET:g}x): "
        + ("PASS" if ok_speed else "FAIL")
    )
    lines.append(
        f"validator peak memory (tree PSS): {peak_mb:.1f} MB (target < {PEAK_TARGET_MB:g} MB): "
        + ("PASS" if ok_peak else "FAIL")
        + f"; summed RSS, shared pages counted per process: {val.peak_tree_rss / 1e6:.1f} MB"
    )
    if bare:
        lines.append(
            f"validator / bare tokenization: {size_mb / val.wall_s / bare['mb_per_s']:.2f} "
            f"(1.0 = tokenizing every text; repeated texts memoised, the limit would be "
            f"{bare['distinct_mb_per_s']:.1f} MB/s)"
        )
    return lines, ok_speed and ok_peak


def agreement(base_doc: Any, val_doc: Any, bare: Any) -> list[str]:
    """Do the baseline and the validator agree on the examples and the tokens?"""
    base_examples = dig(base_doc, ("examples",))
    train = [("stats", "files", role) for role in ("training", "train")]
    val_examples = dig(val_doc, *[(*t, "examples") for t in train], ("stats", "examples"))
    if base_examples is None or val_examples is None:
        return ["WARNING: cannot compare example counts (missing from an output)"]
    lines = []
    if base_examples == val_examples:
        lines.append(f"examples: both count {base_examples:,}")
    else:
        lines.append(
            f"WARNING: examples differ: baseline {base_examples:,}, validator {val_examples:,}"
        )
    base_tokens = dig(base_doc, ("total_tokens",))
    val_tokens = dig(
        val_doc, *[(*t, "tokens_per_example", "total") for t in train], ("stats", "total_tokens")
    )
    if base_tokens is None or val_tokens is None:
        return [*lines, "WARNING: cannot compare token totals (missing from an output)"]
    extra = val_tokens - base_tokens
    tool_tokens = int(bare["tool_tokens"]) if bare else 0
    lines.append(
        f"tokens: baseline {base_tokens:,} (string values only: no tool calls or definitions), "
        f"validator {val_tokens:,}, difference {extra:+,} ({extra / base_tokens:+.1%}); "
        f"tool-call and tool-definition text in the file: {tool_tokens:,} tokens"
    )
    if extra < -0.01 * base_tokens or extra > tool_tokens + 0.05 * base_tokens:
        lines.append("WARNING: token totals differ by more than the tool text explains")
    return lines


def fastest(runs: list[Measured], ok: tuple[int, ...]) -> Measured:
    """A failed run if any, else the fastest run with the highest peaks seen in any run."""
    failed = [run for run in runs if run.returncode not in ok]
    if failed:
        return failed[0]
    peaks = {f: max(getattr(r, f) for r in runs) for f in ("peak_tree_rss", "peak_tree_pss")}
    return replace(min(runs, key=lambda run: run.wall_s), **peaks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark ftflow validate against the baseline.")
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=None, help="generator seed (its default)")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--repeat", type=int, default=3, help="best time, worst peak of N runs")
    parser.add_argument("--validator-cmd", default=None, help="replaces `ftflow` (a stand-in)")
    parser.add_argument("--interval", type=float, default=0.02, help="memory sampling, seconds")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    path = data_path(args.examples)
    generate = [sys.executable, str(HERE / "generate_chat.py"), "--examples", str(args.examples)]
    generate += ["--out", str(path)] + (["--seed", str(args.seed)] if args.seed else [])
    subprocess.run(generate, check=True)
    warm_page_cache(path)
    size_mb = path.stat().st_size / 1e6
    encoding = resolve_model(args.model).encoding
    env = dict(os.environ)
    env.setdefault("TIKTOKEN_CACHE_DIR", str(Path(sys.prefix) / "share" / "ftflow" / "tiktoken"))
    baseline = [sys.executable, str(HERE / "baseline_cookbook.py"), str(path)]
    baseline += ["--encoding", encoding]
    validator = [*validator_prefix(args.validator_cmd), "validate", str(path)]
    validator += ["--model", args.model, "--json"]

    bases: list[Measured] = []
    vals: list[Measured] = []
    for attempt in range(1, max(1, args.repeat) + 1):
        print(f"run {attempt}: the cookbook baseline, then ftflow validate ...", flush=True)
        bases.append(run_measured(baseline, env, args.interval))
        vals.append(run_measured(validator, env, args.interval))
    base = fastest(bases, (0,))
    base_doc = last_json(base.stdout)
    if base.returncode != 0 or base_doc is None:
        print(f"baseline failed ({base.returncode}):\n{base.stderr[-2000:]}", file=sys.stderr)
        return 1
    chosen = fastest(vals, (0, 1))
    val_doc = last_json(chosen.stdout)
    val = chosen if chosen.returncode in (0, 1) and isinstance(val_doc, dict) else None
    notes = []
    if val is None:
        tail = (chosen.stderr.strip() or chosen.stdout.strip())[-1500:]
        notes.append(f"validator failed (exit {chosen.returncode}): {tail}")
    elif val.returncode == 1:
        findings = val_doc.get("findings", [])[:3]
        notes.append(f"WARNING: the validator reports errors in the benchmark file: {findings}")

    print("timing bare tokenization ...", flush=True)
    bare_cmd = [sys.executable, str(HERE / "bare_tokenization.py"), str(path), "--json"]
    bare_cmd += ["--encoding", encoding, "--repeat", str(max(1, args.repeat))]
    bare_run = subprocess.run(bare_cmd, check=False, capture_output=True, text=True, env=env)
    bare = last_json(bare_run.stdout) if bare_run.returncode == 0 else None
    if bare is None:
        notes.append(f"bare tokenization failed: {bare_run.stderr.strip()[-1500:]}")

    if val is not None:
        notes += agreement(base_doc, val_doc, bare)
    for name, run in (("baseline", base), ("validator", val)):
        if run is not None:
            notes += foreign_warning(run.foreign_cpu_s, run.wall_s, f"the {name} run")
    lines, passed = report(path, size_mb, base, val, bare)
    if args.repeat > 1:
        lines[0] += f"; best time and highest peak of {args.repeat} runs each"
    lines += notes
    print("\n".join(lines))
    if args.record:
        record(lines, f"{args.examples:,} examples, {size_mb:.1f} MB", "tiktoken")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

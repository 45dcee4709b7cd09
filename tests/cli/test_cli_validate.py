"""``ftflow validate`` as a user runs it: the installed command in a subprocess.

Exit status 0 when the data may go on (warnings allowed), 1 when errors were found, 2 for a
usage problem or unreadable input; ``--json`` prints one JSON document and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ftflow.catalog import CATALOG
from ftflow.settings import TokenizerSettings

FTFLOW = Path(sys.executable).parent / "ftflow"
MODEL = "gpt-4o-mini-2024-07-18"
SYSTEM = "You are the support assistant of Velo, a bicycle shop."
FINDING_KEYS = {"severity", "kind", "file", "line", "field", "message", "hint"}


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


def ftflow(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FTFLOW_")}
    # The encodings this environment uses, wherever it is installed.
    environment["FTFLOW_TIKTOKEN_CACHE_DIR"] = str(TokenizerSettings().tiktoken_cache_dir)
    environment["FTFLOW_WORKERS"] = "1"
    environment["COLUMNS"] = "120"
    environment.update(env or {})
    result = subprocess.run(
        [str(FTFLOW), *map(str, args)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return Run(result.returncode, result.stdout, result.stderr)


def example(i: int, *, system: bool = True) -> dict[str, Any]:
    messages = [{"role": "system", "content": SYSTEM}] if system else []
    messages += [
        {"role": "user", "content": f"Question {i}: how often should I oil my chain?"},
        {"role": "assistant", "content": f"Every few weeks, or after rain (answer {i})."},
    ]
    return {"messages": messages}


def write(path: Path, lines: list[Any]) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text)
    return path


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """120 valid examples with system messages: no findings at all."""
    return write(tmp_path / "train.jsonl", [example(i) for i in range(120)])


@pytest.fixture
def with_warnings(tmp_path: Path) -> Path:
    """12 examples, one without a system message: warnings only."""
    lines = [example(i) for i in range(12)]
    lines[5] = example(5, system=False)
    return write(tmp_path / "train.jsonl", lines)


@pytest.fixture
def with_errors(tmp_path: Path) -> Path:
    """A blank line at 3 and an unknown role at 6 among valid examples."""
    lines: list[Any] = [example(i) for i in range(12)]
    lines.insert(2, "")
    bad = example(40)
    bad["messages"][1]["role"] = "customer"
    lines[5] = bad
    return write(tmp_path / "train.jsonl", lines)


# ---------------------------------------------------------------------- exit status


def test_exit_0_for_clean_data(tmp_path: Path, clean: Path) -> None:
    run = ftflow("validate", clean, "--model", MODEL, cwd=tmp_path)

    assert run.code == 0, run.stdout + run.stderr
    assert "PASS" in run.stdout
    assert run.stderr == ""


def test_exit_0_with_warnings(tmp_path: Path, with_warnings: Path) -> None:
    run = ftflow("validate", with_warnings, "--model", MODEL, cwd=tmp_path)

    assert run.code == 0, run.stdout + run.stderr
    assert "PASS" in run.stdout
    assert "missing-system-message" in run.stdout
    assert "train.jsonl:6" in run.stdout
    assert "few-examples" in run.stdout


def test_exit_1_with_errors_and_every_location_shown(tmp_path: Path, with_errors: Path) -> None:
    run = ftflow("validate", with_errors, "--model", MODEL, cwd=tmp_path)

    assert run.code == 1, run.stdout + run.stderr
    out = run.stdout
    assert "FAIL" in out
    assert "2 errors" in out
    assert "blank-line" in out
    assert "train.jsonl:3" in out
    assert "unknown-role" in out
    assert "train.jsonl:6" in out
    assert "messages[1].role" in out
    assert "'customer'" in out
    assert "fix: use one of the roles" in out  # the hint, once per kind


def test_human_output_has_the_figures_table(tmp_path: Path, clean: Path) -> None:
    run = ftflow("validate", clean, "--model", MODEL, "--epochs", "2", cwd=tmp_path)

    out = run.stdout
    assert f"Model {MODEL}" in out
    assert "o200k_base" in out
    for label in ("examples", "messages", "median", "p95", "max", "trainable"):
        assert label in out
    assert "120" in out
    assert "Cost estimate" in out
    assert "× 2 epochs" in out


def test_human_output_shows_a_few_findings_per_kind_and_counts_the_rest(tmp_path: Path) -> None:
    lines = [example(i, system=False) for i in range(30)]
    path = write(tmp_path / "train.jsonl", lines)
    run = ftflow("validate", path, "--model", MODEL, cwd=tmp_path)

    assert run.code == 0
    assert "missing-system-message (30)" in run.stdout
    assert "and 25 more" in run.stdout


def test_human_output_prints_user_text_literally(tmp_path: Path) -> None:
    # Keys, values and file names are the user's: never interpreted as rich markup.
    lines: list[Any] = [example(i) for i in range(12)]
    lines[3]["messages"][1]["[/oops]"] = 1
    lines[4]["messages"][1]["role"] = "[bold]boss[/bold]"
    path = write(tmp_path / "data[red].jsonl", lines)
    run = ftflow("validate", path, "--model", MODEL, cwd=tmp_path)

    assert run.code == 1, run.stdout + run.stderr
    assert "data[red].jsonl:4" in run.stdout
    assert "messages[1].[/oops]" in run.stdout
    assert "'[bold]boss[/bold]'" in run.stdout


# ---------------------------------------------------------------------- usage errors: 2


def test_exit_2_for_a_missing_file(tmp_path: Path) -> None:
    run = ftflow("validate", tmp_path / "nowhere.jsonl", "--model", MODEL, cwd=tmp_path)

    assert run.code == 2
    assert "nowhere.jsonl" in run.stderr
    assert "no such file" in run.stderr
    assert run.stdout == ""


def test_exit_2_for_a_missing_validation_file(tmp_path: Path, clean: Path) -> None:
    missing = tmp_path / "valid.jsonl"
    run = ftflow("validate", clean, "--validation", missing, "--model", MODEL, cwd=tmp_path)

    assert run.code == 2
    assert "valid.jsonl" in run.stderr


def test_exit_2_for_a_directory(tmp_path: Path) -> None:
    run = ftflow("validate", tmp_path, "--model", MODEL, cwd=tmp_path)

    assert run.code == 2
    assert "not a file" in run.stderr


def test_exit_2_for_an_unknown_model_listing_the_known_ones(tmp_path: Path, clean: Path) -> None:
    run = ftflow("validate", clean, "--model", "gpt-4", "--json", cwd=tmp_path)

    assert run.code == 2
    assert run.stdout == ""
    assert "unknown model 'gpt-4'" in run.stderr
    for known in CATALOG:
        assert known in run.stderr


def test_exit_2_without_model(tmp_path: Path, clean: Path) -> None:
    run = ftflow("validate", clean, cwd=tmp_path)

    assert run.code == 2
    assert "--model" in run.stderr


@pytest.mark.parametrize("epochs", ["0", "-1", "51", "three", "2.5"])
def test_exit_2_for_bad_epochs(tmp_path: Path, clean: Path, epochs: str) -> None:
    run = ftflow("validate", clean, "--model", MODEL, "--epochs", epochs, cwd=tmp_path)

    assert run.code == 2
    assert "--epochs" in run.stderr


def test_exit_2_when_the_tokenizer_is_not_installed(tmp_path: Path, clean: Path) -> None:
    empty = tmp_path / "no-encodings"
    empty.mkdir()
    env = {"FTFLOW_TIKTOKEN_CACHE_DIR": str(empty)}
    run = ftflow("validate", clean, "--model", MODEL, cwd=tmp_path, env=env)

    assert run.code == 2
    assert "o200k_base" in run.stderr
    assert "ftflow tokenizers install" in run.stderr


def test_exit_2_for_a_bad_prices_file(tmp_path: Path, clean: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"gpt-4o-mini-2024-07-18": "free"}')
    env = {"FTFLOW_PRICES_FILE": str(prices)}
    run = ftflow("validate", clean, "--model", MODEL, cwd=tmp_path, env=env)

    assert run.code == 2
    assert "prices.json" in run.stderr


# ---------------------------------------------------------------------- --json


def test_json_output_has_exactly_the_documented_shape(tmp_path: Path, with_errors: Path) -> None:
    run = ftflow("validate", with_errors, "--model", MODEL, "--json", cwd=tmp_path)

    assert run.code == 1
    document = run.json()  # stdout is the JSON document and nothing else
    assert set(document) == {"ok", "format", "findings", "stats"}
    assert document["ok"] is False
    assert document["format"] == "chat"
    for finding in document["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["severity"] in ("error", "warning")
        assert finding["file"] == str(with_errors)
    located = [
        (f["kind"], f["line"], f["field"]) for f in document["findings"] if f["line"] is not None
    ]
    assert located == [("blank-line", 3, None), ("unknown-role", 6, "messages[1].role")]
    role = next(f for f in document["findings"] if f["kind"] == "unknown-role")
    assert role["severity"] == "error"
    assert "'customer'" in role["message"]
    assert role["hint"].startswith("use one of the roles")


def test_json_stats_hold_the_figures_and_counts(tmp_path: Path) -> None:
    lines = [example(i, system=False) for i in range(50)]
    path = write(tmp_path / "train.jsonl", lines)
    run = ftflow("validate", path, "--model", MODEL, "--json", "--epochs", "3", cwd=tmp_path)

    assert run.code == 0
    document = run.json()
    assert document["ok"] is True
    stats = document["stats"]
    assert stats["model"] == MODEL
    assert stats["encoding"] == "o200k_base"
    assert stats["max_example_tokens"] == 65_536
    training = stats["files"]["training"]
    assert training["examples"] == 50
    assert training["messages"] == 100
    assert training["findings_by_kind"] == {"missing-system-message": 50, "few-examples": 1}
    assert training["findings_omitted"] == {"missing-system-message": 30}
    assert training["warnings"] == 51
    assert training["errors"] == 0
    per_example = training["tokens_per_example"]
    assert {"minimum", "median", "p95", "maximum", "total"} <= set(per_example)
    assert per_example["minimum"] <= per_example["median"] <= per_example["p95"]
    assert per_example["p95"] <= per_example["maximum"]
    assert 0 < training["trainable_tokens"] < per_example["total"]
    billing = stats["billing"]
    assert billing["epochs"] == 3
    assert billing["billed_tokens"] == 3 * per_example["total"]
    assert billing["usd_per_million"] == 3.30
    assert billing["estimated_usd"] == round(3 * per_example["total"] / 1e6 * 3.30, 4)
    shown = [f for f in document["findings"] if f["kind"] == "missing-system-message"]
    assert len(shown) == 20


def test_json_reports_both_files_and_the_overlap(tmp_path: Path, clean: Path) -> None:
    validation = write(
        tmp_path / "valid.jsonl", [example(i) for i in range(200, 210)] + [example(7)]
    )
    run = ftflow(
        "validate", clean, "--validation", validation, "--model", MODEL, "--json", cwd=tmp_path
    )

    assert run.code == 0
    document = run.json()
    assert set(document["stats"]["files"]) == {"training", "validation"}
    [overlap] = document["findings"]
    assert overlap["kind"] == "train-validation-overlap"
    assert (overlap["file"], overlap["line"]) == (str(validation), 11)
    assert "line 8" in overlap["message"]


def test_json_auto_epochs_and_price_override(tmp_path: Path, clean: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({MODEL: 10}))
    env = {"FTFLOW_PRICES_FILE": str(prices)}
    run = ftflow("validate", clean, "--model", MODEL, "--json", cwd=tmp_path, env=env)

    billing = run.json()["stats"]["billing"]
    assert billing["epochs"] == 3  # 120 examples: the target of 3 epochs
    assert "estimate" in billing["epochs_source"]
    assert billing["usd_per_million"] == 10.0
    assert billing["estimated_usd"] == round(billing["billed_tokens"] / 1e6 * 10, 4)


def test_json_for_a_fine_tuned_model(tmp_path: Path, clean: Path) -> None:
    model = f"{MODEL}.ft-0e208cf33a6a466994aff31a08aba678:ckpt-step-10"
    run = ftflow("validate", clean, "--model", model, "--json", cwd=tmp_path)

    assert run.code == 0
    stats = run.json()["stats"]
    assert (stats["model"], stats["base_model"]) == (model, MODEL)


def test_json_for_dpo_on_a_model_without_dpo(tmp_path: Path) -> None:
    lines = [
        {
            "input": {"messages": [{"role": "user", "content": f"Tip {i} for brakes?"}]},
            "preferred_output": [{"role": "assistant", "content": f"Check the pads ({i})."}],
            "non_preferred_output": [{"role": "assistant", "content": "Dunno."}],
        }
        for i in range(12)
    ]
    path = write(tmp_path / "dpo.jsonl", lines)
    run = ftflow("validate", path, "--model", MODEL, "--json", cwd=tmp_path)

    assert run.code == 1
    document = run.json()
    assert document["format"] == "dpo"
    errors = [f for f in document["findings"] if f["severity"] == "error"]
    assert [(f["kind"], f["line"]) for f in errors] == [("method-unsupported", None)]

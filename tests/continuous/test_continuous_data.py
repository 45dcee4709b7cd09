"""`ftflow.continuous.data`: scanning a data location (local and other fsspec URLs), choosing
new files by content, and building the training set."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import fsspec
import pytest

from ftflow.continuous.data import (
    DataFile,
    DataLocationError,
    build_training_set,
    read_text,
    scan,
    select,
)


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_scan_finds_matching_files_in_subdirectories_sorted_with_hashes(tmp_path: Path) -> None:
    write(tmp_path / "b.jsonl", b'{"b": 1}\n')
    write(tmp_path / "2026" / "a.jsonl", b'{"a": 1}\n')
    write(tmp_path / "notes.txt", b"not data")
    write(tmp_path / ".incoming.jsonl", b"half a file")
    found = scan(str(tmp_path))
    assert [f.name for f in found] == ["a.jsonl", "b.jsonl"]
    assert found[0].path.endswith("2026/a.jsonl")
    assert found[0].sha256 == sha(b'{"a": 1}\n')
    assert found[0].size == 9


def test_scan_reads_any_fsspec_url() -> None:
    root = f"memory://ftflow-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{root}/x.jsonl", b"one\n")
    fs.pipe(f"{root}/deeper/y.jsonl", b"two\n")
    found = scan(root)
    assert [(f.name, f.sha256) for f in found] == [
        ("y.jsonl", sha(b"two\n")),
        ("x.jsonl", sha(b"one\n")),
    ]
    text, digest = read_text(f"{root}/x.jsonl")
    assert (text, digest) == ("one\n", sha(b"one\n"))


def test_scan_refuses_a_location_that_is_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataLocationError, match="is not a directory"):
        scan(str(tmp_path / "absent"))


def files(*contents: bytes) -> list[DataFile]:
    return [DataFile(f"/d/f{i}.jsonl", sha(c), len(c)) for i, c in enumerate(contents)]


def test_select_new_only_skips_trained_content_and_duplicates() -> None:
    one, two, three = files(b"1", b"2", b"3")
    copy_of_two = DataFile("/d/copy.jsonl", two.sha256, two.size)
    new, chosen = select([one, two, copy_of_two, three], [one.sha256[:16]], "new_only")
    assert new == [two, three]
    assert chosen == [two, three]


def test_select_all_trains_on_everything_when_something_is_new() -> None:
    one, two = files(b"1", b"2")
    new, chosen = select([one, two], [one.sha256[:16]], "all")
    assert (new, chosen) == ([two], [one, two])
    assert select([one, two], [one.sha256, two.sha256], "all") == ([], [])


def test_build_training_set_concatenates_in_order_ending_lines(tmp_path: Path) -> None:
    first = write(tmp_path / "data" / "a.jsonl", b'{"n": 1}\n\n{"n": 2}')
    second = write(tmp_path / "data" / "b.jsonl", b'{"n": 3}\n')
    found = scan(str(tmp_path / "data"))
    built = build_training_set(str(tmp_path / "data"), found, tmp_path / "work")
    expected = b'{"n": 1}\n\n{"n": 2}\n{"n": 3}\n'
    assert built.path == tmp_path / "work" / "continuous-train.jsonl"
    assert built.path.read_bytes() == expected
    assert built.sha256 == sha(expected)
    assert built.version == sha(expected)[:16]
    assert built.examples == 3
    assert [f.path for f in built.files] == [str(first), str(second)]


def test_build_training_set_refuses_a_file_changed_since_the_scan(tmp_path: Path) -> None:
    path = write(tmp_path / "data" / "a.jsonl", b"before\n")
    found = scan(str(tmp_path / "data"))
    path.write_bytes(b"after\n")
    with pytest.raises(DataLocationError, match="changed since it was scanned"):
        build_training_set(str(tmp_path / "data"), found, tmp_path / "work")


def test_read_text_names_what_it_cannot_read(tmp_path: Path) -> None:
    write(tmp_path / "latin1.jsonl", "café".encode("latin-1"))
    with pytest.raises(DataLocationError, match="is not UTF-8"):
        read_text(str(tmp_path / "latin1.jsonl"))
    with pytest.raises(DataLocationError, match="cannot read"):
        read_text(str(tmp_path / "absent.jsonl"))

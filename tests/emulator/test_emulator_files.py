"""Files API: upload, processing lifecycle, server-side checks, list/get/delete/content, limits."""

from __future__ import annotations

import json
import re

import openai
import pytest
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    GA,
    Harness,
    dpo_file,
    error_of,
    geography,
)


def test_upload_file_returns_201_with_location_and_pending(emu: Harness) -> None:
    client = emu.azure(GA)
    raw = client.files.with_raw_response.create(
        file=("train.jsonl", geography()), purpose="fine-tune"
    )
    uploaded = raw.parse()
    assert raw.status_code == 201
    assert raw.headers["location"] == f"{emu.endpoint}/openai/files/{uploaded.id}?api-version={GA}"
    assert uploaded.status == "pending"
    assert re.fullmatch(r"file-[0-9a-f]{32}", uploaded.id)
    assert uploaded.filename == "train.jsonl"
    assert uploaded.bytes == len(geography())
    assert uploaded.purpose == "fine-tune"


def test_upload_file_moves_pending_running_processed(emu: Harness) -> None:
    client = emu.azure()
    uploaded = client.files.create(file=("train.jsonl", geography()), purpose="fine-tune")
    assert client.files.retrieve(uploaded.id).status == "pending"
    emu.advance(3)
    assert client.files.retrieve(uploaded.id).status == "running"
    emu.advance(60)
    processed = client.files.retrieve(uploaded.id)
    assert processed.status == "processed"
    assert processed.status_details is None


def test_upload_file_on_v1_returns_200(emu: Harness) -> None:
    client = emu.v1()
    raw = client.files.with_raw_response.create(file=("t.jsonl", geography()), purpose="fine-tune")
    assert raw.status_code == 200
    assert raw.parse().status == "pending"


@pytest.mark.parametrize(
    ("content", "details"),
    [
        pytest.param(
            geography()[:40] + b"\xff\xfe" + geography()[40:],
            "Line 1: the file is not valid UTF-8 (byte 0xff at column 41).",
            id="utf8",
        ),
        pytest.param(
            geography() + b'{"messages": [}\n',
            "Line 13: invalid JSON (Expecting value at column 15).",
            id="json",
        ),
        pytest.param(
            geography() + json.dumps({"prompt": "x", "completion": "y"}).encode() + b"\n",
            'Line 13: the example has no "messages" list.',
            id="messages",
        ),
        pytest.param(
            geography() + b'{"messages": [{"role": "user", "content": "hi"}]}\n',
            'Line 13: "messages" has no assistant message to train on.',
            id="assistant",
        ),
        pytest.param(
            b"\n".join(geography().splitlines()[:9]) + b"\n",
            "The file has 9 examples; fine-tuning needs at least 10.",
            id="too-few",
        ),
    ],
)
def test_upload_invalid_file_ends_in_error_naming_the_problem(
    emu: Harness, content: bytes, details: str
) -> None:
    client = emu.azure()
    uploaded = emu.upload(client, content)
    assert uploaded.status == "error"
    assert uploaded.status_details == details


def test_upload_dpo_file_is_processed(emu: Harness) -> None:
    assert emu.upload(emu.azure(), dpo_file()).status == "processed"


def test_upload_mixed_formats_ends_in_error(emu: Harness) -> None:
    uploaded = emu.upload(emu.azure(), geography() + dpo_file(1))
    assert uploaded.status == "error"
    assert uploaded.status_details.startswith("Line 13: the example is in dpo format")


def test_injected_file_processing_error(emu: Harness) -> None:
    emu.fault("files", filename="bad.*", message="Line 4: injected problem.")
    client = emu.azure()
    assert emu.upload(client, geography(), "good.jsonl").status == "processed"
    failed = emu.upload(client, geography(), "bad.jsonl")
    assert failed.status == "error"
    assert failed.status_details == "Line 4: injected problem."


def test_retrieve_unknown_file_is_404(emu: Harness) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        emu.azure().files.retrieve("file-00000000000000000000000000000000")
    assert raised.value.status_code == 404
    assert raised.value.code == "notFound"
    assert raised.value.message.endswith(
        "File with id 'file-00000000000000000000000000000000' not found."
    )


def test_retrieve_unknown_file_on_v1_has_v1_envelope(emu: Harness) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        emu.v1().files.retrieve("file-x")
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["code"] == "notFound"
    assert body["type"] == "error"
    assert "inner_error" in body


def test_delete_file_then_it_is_gone(emu: Harness) -> None:
    client = emu.azure()
    uploaded = emu.upload(client, geography())
    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted is True
    assert deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(uploaded.id)


def test_file_content_returns_the_uploaded_bytes(emu: Harness) -> None:
    client = emu.azure()
    uploaded = emu.upload(client, geography())
    assert client.files.content(uploaded.id).content == geography()


def test_list_files_newest_first_with_purpose_and_after(emu: Harness) -> None:
    client = emu.azure()
    first = client.files.create(file=("a.jsonl", geography()), purpose="fine-tune")
    second = client.files.create(file=("b.jsonl", geography()), purpose="fine-tune")
    other = client.files.create(file=("c.jsonl", b'{"x": 1}\n'), purpose="batch")
    listed = client.files.list()
    assert [f.id for f in listed.data] == [other.id, second.id, first.id]
    assert [f.id for f in client.files.list(purpose="fine-tune").data] == [second.id, first.id]
    v1_page = emu.v1().files.list(limit=1)
    assert [f.id for f in v1_page.data] == [other.id]
    assert v1_page.has_more is True
    assert [f.id for f in emu.v1().files.list(after=second.id).data] == [first.id]


def test_upload_larger_than_limit_is_413(emu: Harness) -> None:
    emu.settings(limits={"max_file_bytes": 1000})
    with pytest.raises(openai.APIStatusError) as raised:
        emu.azure().files.create(file=("big.jsonl", geography()), purpose="fine-tune")
    assert raised.value.status_code == 413
    assert raised.value.code == "invalidPayload"
    assert f"({len(geography())} bytes, the limit is 1000 bytes)" in raised.value.message


def test_upload_larger_than_limit_is_refused_unread(emu: Harness) -> None:
    emu.settings(limits={"max_file_bytes": 1000})
    big = b"x" * (3 * 1024 * 1024)
    with pytest.raises(openai.APIStatusError) as raised:
        emu.azure().files.create(file=("huge.jsonl", big), purpose="fine-tune")
    assert raised.value.status_code == 413
    assert emu.azure().files.list().data == []


def test_upload_beyond_file_count_quota_is_rejected(emu: Harness) -> None:
    emu.settings(limits={"max_files": 2})
    client = emu.azure()
    for name in ("a.jsonl", "b.jsonl"):
        client.files.create(file=(name, geography()), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError) as raised:
        client.files.create(file=("c.jsonl", geography()), purpose="fine-tune")
    assert raised.value.code == "quotaExceeded"
    assert "already has 2 fine-tuning files, the maximum allowed is 2" in raised.value.message


def test_upload_beyond_total_bytes_quota_is_rejected(emu: Harness) -> None:
    size = len(geography())
    emu.settings(limits={"max_files_total_bytes": size * 2 + 10})
    client = emu.azure()
    client.files.create(file=("a.jsonl", geography()), purpose="fine-tune")
    client.files.create(file=("b.jsonl", geography()), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError) as raised:
        client.files.create(file=("c.jsonl", geography()), purpose="fine-tune")
    assert raised.value.code == "quotaExceeded"
    assert f"above the limit of {size * 2 + 10} bytes" in raised.value.message


def test_upload_with_unknown_purpose_is_400(emu: Harness) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        emu.azure().files.create(file=("a.jsonl", geography()), purpose="fine-tune-results")
    assert error_of(raised.value) == {
        "code": "invalidPayload",
        "message": "Invalid value for purpose: 'fine-tune-results'. Supported values are: "
        "fine-tune, assistants, batch, evals.",
        "param": "purpose",
    }


def test_file_name_is_data_never_a_path(emu: Harness) -> None:
    name = "../../../escape/evil.jsonl"
    client = emu.azure()
    uploaded = emu.upload(client, geography(), name)
    assert uploaded.filename == name
    assert client.files.content(uploaded.id).content == geography()
    stray = list(emu.server.data_dir.parent.rglob("evil.jsonl"))
    assert stray == []

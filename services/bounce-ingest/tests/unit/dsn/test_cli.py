"""``bounce-ingest classify``: one JSON line per file, folders walked, no server needed."""

import json
from pathlib import Path

import pytest

from bounce_ingest.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def test_classify_walks_a_folder_and_prints_one_line_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", str(FIXTURES)]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(line["path"]).name for line in lines] == sorted(p.name for p in FIXTURES.glob("*.eml"))
    by_name = {Path(line["path"]).name: line for line in lines}
    assert by_name["delayed.eml"]["kind"] == "delayed"
    bounce = by_name["rfc3464_two_recipients.eml"]
    assert bounce["kind"] == "bounce"
    assert bounce["bounces"][0]["recipient"] == "bob@gone.test"
    assert set(bounce) >= {"path", "kind", "bounces", "original_message_id"}


def test_classify_reports_an_unreadable_path_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", str(tmp_path / "missing.eml")]) == 1

    line = json.loads(capsys.readouterr().out)
    assert line["path"].endswith("missing.eml")
    assert "error" in line

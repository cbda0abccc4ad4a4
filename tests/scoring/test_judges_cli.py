"""`jiangxin import judges`: the real command, in a process of its own, on the test database —
a refused file with its reports, a dry run, and the import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from competition.config import REPO_ROOT
from scoring.tables import Judge, PanelMember
from tests.scoring.test_judges_pages import HEADER, xlsx


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(  # noqa: S603 - our own command with our own arguments
        [sys.executable, "-m", "competition.cli", "import", "judges", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


async def test_the_judge_import_command(demo_mutable, tmp_path: Path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([HEADER, ["赵一", "青海大学", "XN", "国家级", "", "", "T999", "", ""]]))
    report = tmp_path / "report.json"
    refused = _run(str(bad), "--competition", "QH16", "--commit", "--report", str(report))
    assert refused.returncode == 1 and "Nothing was imported" in refused.stderr
    data = json.loads(report.read_text())
    assert [(p["row"], p["code"]) for p in data["problems"]] == [(2, "trade_not_found")]
    assert data["imported"] is False
    workbook = tmp_path / "report.xlsx"
    assert _run(str(bad), "--competition", "QH16", "--report", str(workbook)).returncode == 1
    rows = list(openpyxl.load_workbook(workbook).worksheets[1].iter_rows(values_only=True))
    assert rows[0][-1] == "错误" and "T999" in rows[1][-1]
    assert await Judge.count() == 0

    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([
        HEADER,
        ["王志刚", "青海送变电工程有限公司", "GWQH", "国家级", "", "", "T001", "是", "chief"],
        ["赵一", "青海大学", "XN", "省级", "", "", "T001、T087", "", ""],
    ]))  # fmt: skip
    dry = _run(str(good), "--competition", "QH16")
    assert dry.returncode == 0, dry.stderr
    assert "judges 2, panel places 3, problems 0" in dry.stdout and "Dry run" in dry.stdout
    assert await Judge.count() == 0
    done = _run(str(good), "--competition", "QH16", "--commit")
    assert done.returncode == 0, done.stderr
    assert "1 new accounts, 1 existing accounts linked, 3 panel places" in done.stdout
    assert await Judge.count() == 2 and await PanelMember.count() == 3

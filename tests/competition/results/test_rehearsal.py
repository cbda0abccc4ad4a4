"""The rehearsal (`jiangxin rehearse DIR --competition CODE`): the sample directory beside this
file replayed through the real command — structure, registrations, schemes, judges, sign-in,
draw, marks, theory scores, penalties, times, lock, decryption — and its results file read back
against the ranking worked out by hand; a bad row stops it with the file, the row and a masked
ID number; a competition code in use is refused."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from competition.audit import Actor
from competition.results import rehearsal
from competition.stages import Stage
from competition.tables import AuditLog, Competition
from scoring.tables import Mark, Penalty, ScoreSheet
from tests.page_text import zh

SAMPLE = Path(__file__).parent / "rehearsal_sample"
REPO_ROOT = Path(__file__).resolve().parents[3]


def _sample(tmp_path: Path) -> Path:
    directory = tmp_path / "last-year"
    shutil.copytree(SAMPLE, directory)
    return directory


def _rehearse(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own command with our own arguments
        [sys.executable, "-m", "competition.cli", "rehearse", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip


async def test_the_sample_rehearses_to_the_hand_worked_ranking(empty_db, tmp_path):
    directory = _sample(tmp_path)
    done = _rehearse(str(directory), "--competition", "RH25")
    assert done.returncode == 0, done.stderr
    assert "2 trades, 8 contestants ranked" in done.stdout
    frame = pd.read_csv(
        io.BytesIO((directory / "results.csv").read_bytes()), dtype=str, keep_default_na=False,
        encoding="utf-8-sig",
    )  # fmt: skip
    shown = ["工种代码", "姓名", "总成绩", "操作技能", "名次", "奖项", "称号"]
    got = [tuple(r) for r in frame[shown].itertuples(index=False)]
    # 装配钳工: practical = A1 + A2 + 30 × level / 3, total = 70 % practical + 30 % theory; 孙三立
    # and 钱二宝 tie on total, practical and theory: the shorter time (3:30 < 3:40) goes first.
    # Awards by counts 1/1/2; the title for place 1 only. 周五星 was absent at sign-in.
    # 电工: 郑七彩 and 王八达 tie through the chain (same practical, same time): shared 2nd. 冯九洲:
    # 30 + 50/3 − 2 (penalty) = 44.67 practical, total 50.77, under the 60 minimum: no award.
    assert got == [
        ("R01", "赵一鸣", "94.20", "96.00", "1", "一等奖", "省技术能手"),
        ("R01", "孙三立", "80.00", "80.00", "2", "二等奖", ""),
        ("R01", "钱二宝", "80.00", "80.00", "3", "三等奖", ""),
        ("R01", "李四海", "63.00", "60.00", "4", "三等奖", ""),
        ("R01", "周五星", "", "", "", "缺考", ""),
        ("R02", "吴六顺", "94.10", "98.00", "1", "一等奖", ""),
        ("R02", "郑七彩", "73.83", "73.33", "2", "二等奖", ""),
        ("R02", "王八达", "73.83", "73.33", "2", "二等奖", ""),
        ("R02", "冯九洲", "50.77", "44.67", "4", "", ""),
    ]
    assert not frame["身份证号"].str.fullmatch(r"\d{17}[\dX]").any()  # masked by default
    assert set(frame.loc[frame["工种代码"] == "R02", "奖牌"]) == {"金牌", "银牌", ""}
    stages = await rehearsal.trade_stages(
        (await Competition.select(Competition.id).where(Competition.code == "RH25").first())["id"]
    )
    assert stages == {"R01": Stage.decrypted, "R02": Stage.decrypted}
    assert await Mark.count() == 36 and await Penalty.count() == 1

    again = _rehearse(str(directory), "--competition", "RH25")
    exists = "The competition {code} exists already: rehearse under a new competition code."
    assert again.returncode == 1 and zh(exists, code="RH25") in again.stderr


async def test_long_files_go_in_as_several_files_and_rank_the_same(empty_db, tmp_path, monkeypatch):
    """The sign-in and the marks are imported a file of at most the import's row limit at a
    time (a province's are millions of rows): cut into files of 3 and 5 rows, a judge's sheet
    completed by a later file is signed then, and the ranking is the hand-worked one."""
    monkeypatch.setattr(rehearsal, "SIGNIN_FILE_ROWS", 3)
    monkeypatch.setattr(rehearsal, "MARK_FILE_ROWS", 5)
    directory = _sample(tmp_path)
    seen: list[str] = []
    done = await rehearsal.rehearse(directory, "RH26", progress=seen.append)
    assert [line.split(":")[0] for line in seen][:3] == [
        "structure",
        "registrations",
        "registrations",
    ]
    assert "marks: 36" in seen and "totals: 8" in seen
    frame = pd.read_csv(io.BytesIO(done.output.read_bytes()), dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")  # fmt: skip
    places = [tuple(r) for r in frame[["工种代码", "总成绩", "名次"]].itertuples(index=False)]
    assert places == [
        ("R01", "94.20", "1"), ("R01", "80.00", "2"), ("R01", "80.00", "3"),
        ("R01", "63.00", "4"), ("R01", "", ""), ("R02", "94.10", "1"), ("R02", "73.83", "2"),
        ("R02", "73.83", "2"), ("R02", "50.77", "4"),
    ]  # fmt: skip
    assert await Mark.count() == 36
    # 36 marks in files of 5: 8 imports, each its own audit record (and transaction).
    assert await AuditLog.count().where(AuditLog.action == "marks.import") == 8
    signed = await ScoreSheet.count().where(ScoreSheet.status == "signed")
    assert signed == await ScoreSheet.count() > 0


async def test_a_bad_row_stops_the_rehearsal_with_its_row(empty_db, tmp_path):
    directory = _sample(tmp_path)
    marks = (directory / "marks.csv").read_text(encoding="utf-8").splitlines()
    number = marks[3].split(",")[0]
    marks[3] = marks[3].replace(number, "630102199001011234", 1)  # nobody registered it
    (directory / "marks.csv").write_text("\n".join(marks) + "\n", encoding="utf-8")
    with pytest.raises(rehearsal.RehearsalFailed) as refused:
        await rehearsal.rehearse(directory, "RH-BAD")
    assert refused.value.params["step"] == "marks.csv"
    reason = refused.value.params["reason"]
    assert reason.params["row"] == 4 and "1234" in reason.params["number"]
    assert "199001" not in reason.params["number"]  # the ID number masked
    assert await Mark.count() == 0 and not (directory / "results.csv").exists()

    missing = _sample(tmp_path / "again")
    (missing / "schemes.csv").unlink()
    with pytest.raises(rehearsal.RehearsalFailed):
        await rehearsal.rehearse(missing, "RH-MISSING")
    assert not await Competition.exists().where(Competition.code == "RH-MISSING")
    assert isinstance(rehearsal.ACTOR, Actor)

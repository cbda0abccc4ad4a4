"""Values people type into cells that several imports read alike: whole numbers and skill
levels (职业技能等级). Each parser takes cleaned text and raises ValueError for text it cannot
read, so the caller says so once, in its own column's words."""

from __future__ import annotations

import re
import unicodedata

_WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?")
# 高级 alone is left out: it could be 高级工 (3) or 高级技师 (1).
SKILL_LEVEL_WORDS: dict[str, int] = {
    "五级": 5, "初级工": 5, "初级": 5,
    "四级": 4, "中级工": 4, "中级": 4,
    "三级": 3, "高级工": 3,
    "二级": 2, "技师": 2,
    "一级": 1, "高级技师": 1,
}  # fmt: skip
_SKILL_SPLIT = str.maketrans({c: " " for c in "/()·、,|"})
# The choices a template offers for a skill level.
SKILL_LEVEL_CHOICES = ["五级/初级工", "四级/中级工", "三级/高级工", "二级/技师", "一级/高级技师"]


def parse_whole(text: str, *, unit: str = "") -> int:
    """ "5", "５", "+5", "5.0" (a number cell) and, with `unit` "年", "5年" → 5."""
    text = unicodedata.normalize("NFKC", text).strip()
    if unit:
        text = text.removesuffix(unit).strip()
    if not _WHOLE.fullmatch(text):
        raise ValueError(text)
    return int(text.split(".")[0])


def parse_skill_level(text: str) -> int | None:
    """1–5, "五级", "初级工", "五级/初级工", "三级（高级工）", "Level 5" → the level; "" → None."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    levels = set()
    for part in text.lower().translate(_SKILL_SPLIT).split():
        word = part.removesuffix("职业技能等级")
        if word == "level":
            continue
        digits = word.removeprefix("level").removesuffix("级")
        if digits.isdigit() and 1 <= int(digits) <= 5:
            levels.add(int(digits))
        elif word in SKILL_LEVEL_WORDS:
            levels.add(SKILL_LEVEL_WORDS[word])
        else:
            raise ValueError(text)
    if len(levels) != 1:
        raise ValueError(text)
    return levels.pop()

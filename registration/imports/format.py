"""The registration file's format (报名导入格式): its columns, what may be uploaded, and the
readers of the columns whose values repeat (levels, years)."""

from __future__ import annotations

from competition import spreadsheets as kit
from competition.i18n import N_, Msg
from competition.spreadsheets import CODE, NUMBER, TEXT, Column

LIMITS = kit.LIMITS["registrations"]
# The names under which the data sheet is looked for; otherwise the first sheet is read.
DATA_SHEETS = ("报名", "报名表", "registrations", "registration")
# A header row names at least this many columns (a title row above it is passed over).
HEADER_MIN_COLUMNS = 3

COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("name", "名字"), N_("Required. As on the ID card."), True, TEXT),
    Column(
        "id_number",
        "身份证号",
        ("身份证号码", "公民身份号码", "身份证", "证件号码", "id_number", "id number", "id"),
        N_(
            "Required. 18 characters. The column is formatted as text so that Excel keeps every "
            "digit and the final X; do not change it to a number."
        ),
        True,
        CODE,
        spaceless=True,
        width=22,
    ),
    Column(
        "phone",
        "手机号",
        ("手机号码", "手机", "联系电话", "电话", "phone", "mobile"),
        N_("Required. An 11-digit mobile number (or a landline with area code)."),
        True,
        CODE,
        spaceless=True,
    ),
    Column(
        "employer",
        "工作单位",
        ("单位", "单位名称", "employer"),
        N_("Required. At most 100 characters."),
        True,
        TEXT,
        width=22,
    ),
    Column("job", "岗位", ("职务", "job"), N_("Optional. At most 50 characters."), False, TEXT),
    Column(
        "skill_level",
        "职业技能等级",
        ("技能等级", "等级", "skill_level", "skill level", "level"),
        N_("1–5, or 五级/初级工, 四级/中级工, 三级/高级工, 二级/技师, 一级/高级技师. Blank: none."),
        True,
        CODE,
    ),
    Column(
        "years",
        "工龄",
        ("years_of_service", "years of service", "years"),
        N_("Required. Whole years of service, 0–50."),
        True,
        NUMBER,
    ),
    Column(
        "trade",
        "工种",
        ("工种代码", "工种名称", "参赛工种", "trade", "trade_code", "trade code"),
        N_("Required. A trade code or name from the sheet “工种与推荐单位”."),
        True,
        CODE,
    ),
    Column(
        "group",
        "组别",
        ("参赛组别", "group"),
        N_("Required when the trade has groups, e.g. 职工组 or 学生组; otherwise blank."),
        False,
        TEXT,
    ),
    Column(
        "delegation",
        "推荐单位",
        ("推荐单位代码", "推荐单位名称", "代表队", "delegation", "delegation_code"),
        N_(
            "A delegation code or name from the sheet “工种与推荐单位”. Required when the "
            "organizer imports for several delegations; a delegation may leave it blank."
        ),
        False,
        CODE,
    ),
)
COLUMN = {c.key: c for c in COLUMNS}
# Which import column a field of `entries.check_fields` belongs to.
FIELD_COLUMN = {
    "name": "name",
    "id_number": "id_number",
    "phone": "phone",
    "employer": "employer",
    "job": "job",
    "skill_level": "skill_level",
    "years_of_service": "years",
    "group_name": "group",
    "trade_id": "trade",
    "delegation_id": "delegation",
}


def required_keys(delegation_id: int | None) -> list[str]:
    """The columns a file must have: 推荐单位 too when the organizer imports for several."""
    return [
        c.key for c in COLUMNS if c.required or (c.key == "delegation" and delegation_id is None)
    ]


def read_skill_level(value: str) -> tuple[int | None, Msg | None]:
    try:
        return kit.parse_skill_level(value), None
    except ValueError:
        return None, N_(
            "Unknown skill level “{value}”: use 1–5 or 五级/初级工 … 一级/高级技师.", value=value
        )


def read_years(value: str) -> tuple[int, Msg | None]:
    if not value:
        return 0, N_("The years of service are required.")
    try:
        return kit.parse_whole(value, unit="年"), None
    except ValueError:
        return 0, N_("Enter the years of service as a whole number (0–50).")


def read_upload(data: bytes) -> kit.Table:
    """The rows of an uploaded xlsx or CSV (decided by content, never by the file name)."""
    return kit.read_table(data, LIMITS, sheets=DATA_SHEETS)


def grid(table: kit.Table) -> kit.Grid:
    return kit.Grid(table, COLUMNS, min_columns=HEADER_MIN_COLUMNS)

"""Building registration data for tests through the real services."""

from __future__ import annotations

import datetime as dt
import io
import itertools

from PIL import Image

from competition.audit import SYSTEM
from competition.tables import Delegation, Role, Trade
from registration import entries, idcard
from registration.people import Acting
from registration.photos import process_photo
from registration.schemas import EntryIn

_sequence = itertools.count(101)


def new_id(birth: dt.date = dt.date(1990, 5, 17), male: bool = True) -> str:
    n = next(_sequence)
    if (n % 2 == 1) != male:
        n = next(_sequence)
    return idcard.compose("630102", birth, n % 1000)


def jpeg(width: int = 480, height: int = 640, color=(180, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


async def ids(competition_id: int, trade_code: str, delegation_code: str) -> tuple[int, int]:
    trade = (
        await Trade.select(Trade.id)
        .where((Trade.code == trade_code) & (Trade.competition == competition_id))
        .first()
    )
    delegation = (
        await Delegation.select(Delegation.id)
        .where((Delegation.code == delegation_code) & (Delegation.competition == competition_id))
        .first()
    )
    return trade["id"], delegation["id"]


def entry_in(
    trade_id: int,
    delegation_id: int,
    *,
    id_number: str | None = None,
    name: str = "马建华",
    group: str = "职工组",
    skill_level: int | None = 4,
    years: int = 5,
    **overrides,
) -> EntryIn:
    values = dict(
        name=name,
        id_number=id_number or new_id(),
        phone="13900971234",
        employer="青海省某某机械有限公司",
        job="焊工",
        skill_level=skill_level,
        years_of_service=years,
        delegation_id=delegation_id,
        trade_id=trade_id,
        group_name=group,
    )
    values.update(overrides)
    return EntryIn(**values)


async def register(
    competition_id: int,
    trade_code: str = "T001",
    delegation_code: str = "XN",
    *,
    photo: bool = True,
    account_user_id: int | None = None,
    acting: Acting | None = None,
    **kwargs,
) -> int:
    """An entry through the registration service: as the contestant's own account when
    `account_user_id` is given, else as `acting`, else as the delegation it is for."""
    trade_id, delegation_id = await ids(competition_id, trade_code, delegation_code)
    if account_user_id is not None:
        acting = Acting(role=Role.contestant, user_id=account_user_id)
    elif acting is None:
        acting = Acting(
            role=Role.delegation_admin, delegation_id=delegation_id, delegation_code=delegation_code
        )
    return await entries.register_entry(
        competition_id,
        entry_in(trade_id, delegation_id, **kwargs),
        actor=SYSTEM,
        acting=acting,
        photo=process_photo(jpeg()) if photo else None,
    )

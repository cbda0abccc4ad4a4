"""The structure services behind forms, imports and the demo loader."""

from __future__ import annotations

import pytest

from competition import structure
from competition.audit import SYSTEM
from competition.errors import Conflict
from competition.tables import AuditLog, Delegation, Quota, Trade


async def test_deleting_a_delegation_with_an_admin_is_refused(demo_mutable):
    cid = demo_mutable.competition_id
    xn = await Delegation.select(Delegation.id).where(Delegation.code == "XN").first()
    with pytest.raises(Conflict) as caught:
        await structure.delete_record("delegation", cid, xn["id"], SYSTEM)
    assert caught.value.code == "has_role_grants"
    assert await Delegation.exists().where(Delegation.id == xn["id"])


async def test_deleting_a_trade_lists_its_quotas_in_the_audit_record(demo_mutable):
    from competition.schemas import QuotaIn, TradeIn

    cid = demo_mutable.competition_id
    trade_id = await structure.save_record(
        "trade", cid, TradeIn(code="T999", name="试验工种", industry_code="ZBZZ"), SYSTEM
    )
    await structure.import_records(
        "quota",
        cid,
        [QuotaIn(delegation_code=code, trade_code="T999", max_entries=2) for code in ("XN", "HX")],
        SYSTEM,
    )
    await structure.delete_record("trade", cid, trade_id, SYSTEM)
    assert not await Quota.exists().where(Quota.trade == trade_id)
    record = (
        await AuditLog.select()
        .where((AuditLog.action == "trade.delete") & (AuditLog.object_id == str(trade_id)))
        .output(load_json=True)
        .first()
    )
    assert sorted(q["max_entries"] for q in record["old"]["quotas"]) == [2, 2]


async def test_reimporting_unchanged_rows_writes_nothing(demo_mutable):
    cid = demo_mutable.competition_id
    before = await AuditLog.count()
    from competition.schemas import IndustryIn

    rows = await Trade.select(Trade.code).where(Trade.competition == cid).limit(1)
    assert rows
    applied = await structure.import_records(
        "industry",
        cid,
        [
            IndustryIn(
                code="NYHG", name="能源化工", name_en="Energy & Chemical Industry", sort_order=2
            )
        ],
        SYSTEM,
    )
    assert (applied.created, applied.updated, applied.unchanged) == (0, 0, 1)
    assert await AuditLog.count() == before

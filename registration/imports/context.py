"""The competition as an import checks it: phase, trades and their rules, delegations, earlier
first prizes — and a fingerprint of all of it, so a commit can tell whether the file half of a
dry run still holds."""

from __future__ import annotations

import hashlib
import json

from competition import spreadsheets as kit
from competition.errors import PermissionDenied
from competition.i18n import N_
from competition.tables import Delegation, Role, Trade
from registration import entries
from registration.imports.plan import Context


def _fingerprint(context: Context) -> str:
    """What the file's rows were checked against, as a digest: trades (codes, names, groups,
    eligibility, cutoff), delegations and earlier first prizes."""
    digest = hashlib.sha256()
    trades = [
        [t.id, t.code, t.name, list(t.groups), repr(t.eligibility), t.cutoff.isoformat()]
        for t in sorted(context.rules.values(), key=lambda t: t.id)
    ]
    delegations = [
        [d["id"], d["code"], d["name"]] for _id, d in sorted(context.delegations.items())
    ]
    digest.update(json.dumps([trades, delegations], ensure_ascii=False).encode())
    for number, trade in sorted(context.winners):
        digest.update(f"{number}\x00{trade}\x01".encode())
    return digest.hexdigest()


async def load_context(
    competition_id: int, delegation_id: int | None, *, organizer: bool | None = None
) -> Context:
    """The competition for an import of rows for `delegation_id` (None: the file says, row by
    row) by an organizer (the default when no delegation is given) or that delegation's
    admin. Raises NotFound, PhaseError (registration is not open, or its deadline has passed for
    a delegation) or PermissionDenied."""
    # The core's own lookup of the phase and the trades a person may enter.
    organizer = delegation_id is None if organizer is None else organizer
    window = await entries.registration_window(competition_id)
    window.require_open(
        Role.organizer if organizer else Role.delegation_admin, N_("Importing registrations")
    )
    limit = window.trades_per_person
    rules = await entries.trade_rules(competition_id)
    names_en = {
        r["id"]: r["name_en"]
        for r in await Trade.select(Trade.id, Trade.name_en).where(
            Trade.competition == competition_id
        )
    }
    trade_keys: dict[str, int] = {}
    for trade in rules.values():
        trade_keys[kit.clean(trade.name)] = trade.id
    for trade in rules.values():
        trade_keys[kit.clean(trade.code).upper()] = trade.id  # a code wins over a same-named trade
    delegations = {
        d["id"]: d
        for d in await Delegation.select(Delegation.id, Delegation.code, Delegation.name)
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
    }
    if delegation_id is not None and delegation_id not in delegations:
        raise PermissionDenied(
            "This delegation does not take part in this competition.",
            code="delegation_not_in_competition",
        )
    delegation_keys: dict[str, int] = {}
    for d in delegations.values():
        delegation_keys[kit.clean(d["name"])] = d["id"]
    for d in delegations.values():
        delegation_keys[kit.clean(d["code"]).upper()] = d["id"]
    winners = await entries.first_prize_winners({t.name for t in rules.values()})
    context = Context(
        competition_id=competition_id,
        limit=limit,
        delegation_id=delegation_id,
        rules=rules,
        trade_keys=trade_keys,
        delegations=delegations,
        delegation_keys=delegation_keys,
        winners=winners,
        trade_names_en=names_en,
        organizer=organizer,
    )
    context.fingerprint = _fingerprint(context)
    return context

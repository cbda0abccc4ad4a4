"""Demo contestants (演示参赛选手): about 300 fictional people registered in the demo
competition, so that every registration page shows something real.

The people come from `registration/demo/contestants.csv`, an ordinary import file (Chinese
headers, trade and delegation by code or by name) imported through the batch import service,
plus two columns the import ignores: the status each entry should reach (演示状态) and the
reason of a rejection or revocation (演示原因). Entries are then moved there through the review
services — first review, final review (tickets issued), rejections, revocations — and every
person gets a generated photo (a neutral silhouette, tinted per person).

Whose record is whose (registration/people.py): each demo person is owned by the delegation of
their entry; the demo account `contestant` took over 韩永福's record (an approved welder, 焊工)
with a claim the organizer confirmed; and one more contestant account (`CLAIMANT_USERNAME`, a
mobile number) waits for 西宁市总工会 to confirm its claim of a record that delegation entered,
so the delegation's claims page has something to decide.

Idempotent: a second run finds everything in place and changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw

from competition import accounts, audit
from competition.accounts import Grant
from competition.audit import Actor
from competition.db import transaction
from competition.demo.loader import DEMO_PASSWORD
from competition.tables import Role, Trade, User
from registration import claims, idcard, imports, review
from registration.entries import save_photo
from registration.photos import STORED_SIZE, ProcessedPhoto
from registration.tables import ClaimStatus, Entry, EntryStatus, Person, PersonClaim, Photo

DEMO_FILE = Path(__file__).resolve().parent / "demo" / "contestants.csv"
DEMO_ACTOR = Actor(user_id=None, name="demo")
STATUS_COLUMN = "演示状态"
REASON_COLUMN = "演示原因"
# The demo account of a contestant and the entry it is linked to.
CONTESTANT_USERNAME = "contestant"
CONTESTANT_NAME = "韩永福"
CONTESTANT_TRADE = "T001"
# A contestant account whose claim waits for its delegation (password: the demo password).
CLAIMANT_USERNAME = "13997000001"
CLAIMANT_DELEGATION = "XN"

# What a row's 演示状态 asks for, and which review steps lead there.
AFTER_FIRST_REVIEW = {"delegation_approved", "approved", "revoked", "rejected_organizer"}
AFTER_FINAL_REVIEW = {"approved", "revoked"}


async def load_demo_registrations(competition_id: int) -> int:
    """Register the demo contestants and move them through review. Returns the number of
    changes (0 when everything was already there)."""
    data = DEMO_FILE.read_bytes()
    plan = await imports.import_file(competition_id, data, actor=DEMO_ACTOR)
    if plan.errors:
        row, problems = next(iter(sorted(plan.errors.items())))
        raise RuntimeError(
            f"{DEMO_FILE.name} row {row}: {problems[0].column}: {problems[0].message}"
        )
    changes = plan.counts.new + plan.counts.updated
    targets = await _targets(competition_id, data)
    entries = await _entries(competition_id, list({number for number, _t in targets}))
    changes += await _review(competition_id, entries, targets)
    changes += await _photos(entries)
    changes += await _owners(competition_id)
    changes += await _link_contestant(competition_id)
    changes += await _pending_claim(competition_id)
    return changes


async def _targets(competition_id: int, data: bytes) -> dict[tuple[str, int], tuple[str, str]]:
    """(ID number, trade id) → (status to reach, reason), from the demo file."""
    trades = await Trade.select(Trade.id, Trade.code, Trade.name).where(
        Trade.competition == competition_id
    )
    trade_ids = {t["code"]: t["id"] for t in trades} | {t["name"]: t["id"] for t in trades}
    targets = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
        key = (idcard.normalise(row["身份证号"]), trade_ids[row["工种"].strip()])
        targets[key] = (row[STATUS_COLUMN].strip(), row[REASON_COLUMN].strip())
    return targets


async def _entries(competition_id: int, id_numbers: list[str]) -> list[dict]:
    return await Entry.select(
        Entry.id,
        Entry.status,
        Entry.delegation,
        Entry.trade,
        Entry.person,
        Entry.person.id_number,
    ).where((Entry.competition == competition_id) & Entry.person.id_number.is_in(id_numbers))


async def _review(
    competition_id: int,
    entries: list[dict],
    targets: dict[tuple[str, int], tuple[str, str]],
) -> int:
    changes = 0

    def wanted(entry: dict) -> tuple[str, str]:
        return targets.get((entry["person.id_number"], entry["trade"]), ("submitted", ""))

    # 初审: pass or reject, per delegation (and reason).
    passing: dict[int, list[int]] = defaultdict(list)
    rejecting: dict[tuple[int, str], list[int]] = defaultdict(list)
    for entry in entries:
        if entry["status"] != EntryStatus.submitted:
            continue
        status, reason = wanted(entry)
        if status in AFTER_FIRST_REVIEW:
            passing[entry["delegation"]].append(entry["id"])
        elif status == "rejected_delegation":
            rejecting[(entry["delegation"], reason)].append(entry["id"])
    for delegation_id, ids in passing.items():
        outcome = await review.review_by_delegation(
            competition_id, delegation_id, ids, True, actor=DEMO_ACTOR
        )
        changes += _done(entries, outcome.done, EntryStatus.delegation_approved)
    for (delegation_id, reason), ids in rejecting.items():
        outcome = await review.review_by_delegation(
            competition_id, delegation_id, ids, False, actor=DEMO_ACTOR, reason=reason
        )
        changes += _done(entries, outcome.done, EntryStatus.rejected)

    # 终审: approve (tickets issued) or reject with the organizer's reason.
    approving = []
    refusing: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        if entry["status"] != EntryStatus.delegation_approved:
            continue
        status, reason = wanted(entry)
        if status in AFTER_FINAL_REVIEW:
            approving.append(entry["id"])
        elif status == "rejected_organizer":
            refusing[reason].append(entry["id"])
    if approving:
        outcome = await review.review_by_organizer(
            competition_id, approving, True, actor=DEMO_ACTOR
        )
        changes += _done(entries, outcome.done, EntryStatus.approved)
    for reason, ids in refusing.items():
        outcome = await review.review_by_organizer(
            competition_id, ids, False, actor=DEMO_ACTOR, reason=reason
        )
        changes += _done(entries, outcome.done, EntryStatus.rejected)

    # 取消资格.
    for entry in entries:
        status, reason = wanted(entry)
        if entry["status"] == EntryStatus.approved and status == "revoked":
            await review.revoke_entry(competition_id, entry["id"], reason, actor=DEMO_ACTOR)
            changes += _done(entries, [entry["id"]], EntryStatus.revoked)
    return changes


def _done(entries: list[dict], ids: list[int], status: EntryStatus) -> int:
    changed = set(ids)
    for entry in entries:
        if entry["id"] in changed:
            entry["status"] = status.value
    return len(changed)


def portrait(seed: str) -> ProcessedPhoto:
    """A neutral silhouette on a light background, tinted by `seed`: a stand-in ID photo."""
    digest = hashlib.sha256(seed.encode()).digest()
    width, height = STORED_SIZE
    background = tuple(205 + b % 45 for b in digest[:3])
    figure = tuple(95 + b % 60 for b in digest[3:6])
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    head_width = 170 + digest[6] % 30
    head_top = 130 + digest[7] % 30
    draw.ellipse(
        (width // 2 - head_width // 2, head_top, width // 2 + head_width // 2, head_top + 220),
        fill=figure,
    )
    draw.rectangle((width // 2 - 38, head_top + 200, width // 2 + 38, head_top + 270), fill=figure)
    draw.ellipse((40, head_top + 250, width - 40, height + 260), fill=figure)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    content = buffer.getvalue()
    return ProcessedPhoto(
        content=content,
        mime="image/jpeg",
        sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
    )


async def _photos(entries: list[dict]) -> int:
    people = {e["person"]: e["person.id_number"] for e in entries}
    have = {
        r["person"]
        for r in await Photo.select(Photo.person).where(Photo.person.is_in(list(people) or [0]))
    }
    missing = [(pid, number) for pid, number in people.items() if pid not in have]
    async with transaction():
        for person_id, number in missing:
            await save_photo(person_id, portrait(number), DEMO_ACTOR)
    return len(missing)


async def _owners(competition_id: int) -> int:
    """Each demo person is owned by the delegation of their (first) entry, as if that
    delegation had entered them."""
    rows = (
        await Entry.select(Entry.person, Entry.delegation)
        .where(
            (Entry.competition == competition_id)
            & Entry.person.owner_delegation.is_null()
            & Entry.person.user.is_null()
        )
        .order_by(Entry.id)
    )
    owners: dict[int, int] = {}
    for row in rows:
        owners.setdefault(row["person"], row["delegation"])
    if not owners:
        return 0
    by_delegation: dict[int, list[int]] = defaultdict(list)
    for person_id, delegation_id in owners.items():
        by_delegation[delegation_id].append(person_id)
    async with transaction():
        for delegation_id, person_ids in by_delegation.items():
            await Person.update({Person.owner_delegation: delegation_id}).where(
                Person.id.is_in(person_ids)
            )
        await audit.record_many(
            [
                {
                    "action": "person.update",
                    "object_id": person_id,
                    "old": {"owner_delegation": None},
                    "new": {"owner_delegation": delegation_id},
                }
                for person_id, delegation_id in owners.items()
            ],
            actor=DEMO_ACTOR,
            object_type="person",
            reason="demo data",
        )
    return len(owners)


async def _link_contestant(competition_id: int) -> int:
    """The demo account `contestant` sees 韩永福's approved 焊工 entry as their own: its claim
    was confirmed by the organizer."""
    user = await User.select(User.id).where(User.username == CONTESTANT_USERNAME).first()
    if user is None:
        return 0
    async with transaction():
        if await Person.exists().where(Person.user == user["id"]):
            return 0
        entry = (
            await Entry.select(Entry.person)
            .where(
                (Entry.competition == competition_id)
                & (Entry.trade.code == CONTESTANT_TRADE)
                & (Entry.person.name == CONTESTANT_NAME)
                & (Entry.status == EntryStatus.approved.value)
            )
            .first()
        )
        if entry is None:
            return 0
        await Person.update({Person.user: user["id"]}).where(Person.id == entry["person"])
        claim = PersonClaim(
            person=entry["person"],
            user=user["id"],
            status=ClaimStatus.confirmed.value,
            proof="organizer",
            decided_at=dt.datetime.now(dt.UTC),
        )
        await claim.save()
        await audit.record(
            "person.claim_confirmed",
            actor=DEMO_ACTOR,
            object_type="person_claim",
            object_id=claim.id,
            new={"status": ClaimStatus.confirmed.value, "person": entry["person"]},
            reason="demo data",
        )
        await audit.record(
            "person.update",
            actor=DEMO_ACTOR,
            object_type="person",
            object_id=entry["person"],
            old={"user": None},
            new={"user": user["id"]},
            reason="demo data",
        )
    return 1


async def _pending_claim(competition_id: int) -> int:
    """A contestant account asks for a record 西宁市总工会 entered; its mobile number is not the
    one on file, so the claim waits for the delegation."""
    if await User.exists().where(User.username == CLAIMANT_USERNAME):
        return 0
    person = (
        await Entry.select(Entry.person, Entry.person.name, Entry.person.id_number)
        .where(
            (Entry.competition == competition_id)
            & (Entry.delegation.code == CLAIMANT_DELEGATION)
            & Entry.person.user.is_null()
            & (Entry.status == EntryStatus.submitted.value)
        )
        .order_by(Entry.id)
        .first()
    )
    if person is None:
        return 0
    user_id = await accounts.create_user(
        CLAIMANT_USERNAME,
        person["person.name"],
        DEMO_PASSWORD,
        actor=DEMO_ACTOR,
        grants=[Grant(role=Role.contestant)],
        phone=CLAIMANT_USERNAME,
    )
    await claims.request_claim(
        person["person.id_number"], person["person.name"], user_id=user_id, actor=DEMO_ACTOR
    )
    return 1

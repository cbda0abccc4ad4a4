"""The draw (抽签) itself: pure, seeded, reproducible. No database here.

Algorithm "sha256-order-v1":

1. Order: every present entry id is ranked by sha256("{seed}|order|{entry_id}") (hex digest,
   ties — which never happen — by the id). Nothing a person brings (delegation, registration
   order, ticket number) enters the hash, so the order and the codes reveal none of them.
2. Sessions: an entry whose ticket already names one of the trade's practical sessions (the seat
   given at approval) stays in it; the others, in drawn order, go to the session with the most
   free stations left (ties: the earlier session). So sessions fill evenly, and a contestant is
   never moved away from the session printed on the ticket.
3. Stations: within a session, entries take the session's stations (in the order given, which
   the service makes the stations' natural order) in drawn order.
4. Codes (一次加密): sha256("{seed}|code|{entry_id}|{attempt}") mod a code space of at least
   10 × n (a power of ten, at least 1,000), written with leading zeros; a code already taken
   retries with the next attempt. Entries take their codes in drawn order, so the retries are
   deterministic too. The second layer (二次加密, for the judges) does the same with "judge"
   and a "J" prefix.

Only hashlib, integers and sorted lists are used, so every Python version and machine
computes the same result from the same seed and inputs.
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

ALGORITHM = "sha256-order-v1"
ALGORITHMS = (ALGORITHM,)
JUDGE_PREFIX = "J"


@dataclass(frozen=True)
class SessionIn:
    id: int
    stations: tuple[int, ...]  # station ids in the order they are handed out


class Slot(NamedTuple):  # a tuple: 200,000 of them are made in one competition's draws
    entry_id: int
    session_id: int
    station_id: int
    code: str
    judge_code: str
    position: int  # 1-based order in the draw


class DrawImpossible(ValueError):
    """The inputs cannot be drawn; `reason` and `params` say why (the service translates)."""

    def __init__(self, reason: str, **params: object):
        super().__init__(reason)
        self.reason = reason
        self.params = params


def new_seed() -> str:
    return secrets.token_hex(16)


def _digest(seed: str, *parts: object) -> int:
    text = "|".join([seed, *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def code_digits(n: int) -> int:
    """Digits of a code: the code space 10**digits is at least 10 × n and 1,000."""
    digits = 3
    while 10**digits < 10 * n:
        digits += 1
    return digits


def drawn_order(seed: str, entry_ids: Sequence[int]) -> list[int]:
    # The digest's bytes sort as its big-endian integer does (`_digest`), without the int;
    # (digest, entry) pairs sorted as they are, without a key function called for each.
    sha256 = hashlib.sha256
    prefix = f"{seed}|order|"
    keyed = sorted([(sha256(f"{prefix}{e}".encode()).digest(), e) for e in entry_ids])
    return [e for _digest, e in keyed]


def _codes(seed: str, layer: str, order: Sequence[int], prefix: str = "") -> dict[int, str]:
    digits = code_digits(len(order))
    space = 10**digits
    taken: set[str] = set()
    codes: dict[int, str] = {}
    sha256, from_bytes = hashlib.sha256, int.from_bytes
    head = f"{seed}|{layer}|"
    for entry_id in order:
        attempt = 0
        while True:
            # `_digest(seed, layer, entry_id, attempt)`, spelled out: this loop runs for
            # every contestant of a 200,000-strong competition.
            value = from_bytes(sha256(f"{head}{entry_id}|{attempt}".encode()).digest(), "big")
            code = prefix + str(value % space).zfill(digits)
            if code not in taken:
                break
            attempt += 1
        taken.add(code)
        codes[entry_id] = code
    return codes


def run(
    seed: str,
    entries: Sequence[tuple[int, int | None]],
    sessions: Sequence[SessionIn],
    *,
    second_layer: bool = False,
    algorithm: str = ALGORITHM,
) -> list[Slot]:
    """Draw `entries` — (entry id, the practical session on its ticket or None) — over
    `sessions` in order. Returns one Slot per entry, in drawn order."""
    if algorithm not in ALGORITHMS:
        raise DrawImpossible("Unknown draw algorithm: {algorithm}", algorithm=algorithm)
    if not seed:
        raise DrawImpossible("The draw needs a seed.")
    if not entries:
        raise DrawImpossible("No contestant is present: there is nobody to draw.")
    if not sessions:
        raise DrawImpossible("The trade has no practical session to draw into.")
    seats = dict(entries)
    if len(seats) != len(entries):
        raise DrawImpossible("An entry is listed twice in the draw.")
    capacity = sum(len(s.stations) for s in sessions)
    if len(seats) > capacity:
        raise DrawImpossible(
            "Not enough stations: {n} contestants are present but the trade's sessions have "
            "{stations} stations; {short} more are needed.",
            n=len(seats),
            stations=capacity,
            short=len(seats) - capacity,
        )
    session_ids = [s.id for s in sessions]
    known = set(session_ids)
    order = drawn_order(seed, list(seats))
    placed: dict[int, list[int]] = {s: [] for s in session_ids}
    free = {s.id: len(s.stations) for s in sessions}
    unseated = []
    for entry_id in order:
        seat = seats[entry_id]
        if seat in known:
            placed[seat].append(entry_id)
            free[seat] -= 1
        else:
            unseated.append(entry_id)
    for session in sessions:
        if free[session.id] < 0:
            raise DrawImpossible(
                "Not enough stations in session {session}: {n} tickets name it but it has "
                "{stations} stations; {short} more are needed.",
                session=session.id,
                n=len(placed[session.id]),
                stations=len(session.stations),
                short=-free[session.id],
            )
    # The session with the most free stations, the earlier one on a tie: a heap of
    # (-free, rank) gives it in O(log sessions) a contestant.
    heap = [(-free[s], rank, s) for rank, s in enumerate(session_ids) if free[s] > 0]
    heapq.heapify(heap)
    for entry_id in unseated:
        minus_free, rank, target = heapq.heappop(heap)
        placed[target].append(entry_id)
        if minus_free + 1 < 0:
            heapq.heappush(heap, (minus_free + 1, rank, target))
    codes = _codes(seed, "code", order)
    judge_codes = _codes(seed, "judge", order, JUDGE_PREFIX) if second_layer else {}
    position = {e: i for i, e in enumerate(order, start=1)}
    slots = [
        Slot(e, session.id, station, codes[e], judge_codes.get(e, ""), position[e])
        for session in sessions
        for station, e in zip(session.stations, placed[session.id], strict=False)
    ]
    slots.sort(key=itemgetter(5))
    return slots


def inputs_json(entries: Sequence[tuple[int, int | None]], sessions: Sequence[SessionIn]) -> dict:
    """The inputs as stored in Draw.inputs, enough to run the draw again. The entries stay
    (entry, session) tuples, which JSON writes as the same arrays as lists, without a list made
    for each of a trade's thousands of contestants."""
    return {
        "entries": sorted(entries),
        "sessions": [{"id": s.id, "stations": list(s.stations)} for s in sessions],
    }


def inputs_from_json(
    data: dict,
) -> tuple[list[tuple[int, int | None]], list[SessionIn]]:
    entries = [(int(e), None if s is None else int(s)) for e, s in data.get("entries", [])]
    sessions = [
        SessionIn(int(s["id"]), tuple(int(x) for x in s["stations"]))
        for s in data.get("sessions", [])
    ]
    return entries, sessions

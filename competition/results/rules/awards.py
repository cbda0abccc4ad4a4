"""Award bands (一/二/三等奖) of one group.

Targets are cumulative over N, the contestants who competed in the group: by ratio,
round(N × r1), round(N × (r1 + r2)), round(N × (r1 + r2 + r3)) with the percents r and the
rounding chosen (floor by default, half up or ceiling), exactly in integers; by counts, the
running sums (1/2/5 → 1/3/8). Each is capped at N.

The cutoff of band k is the place of the contestant at position target k; band k takes everyone
placed at or above that cutoff who is not in a higher band — a tie at a boundary lifts all the
tied into the band and the next band shrinks; a target of 0 (or one no higher than the band
before's) gives an empty band. The minimum total applies after the bands: a contestant below it
gets no award, and the slot is not passed down to anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

NAME = "award_bands"
VERSION = 1
ROUNDINGS = ("floor", "half_up", "ceiling")


def _share(n: int, percent: int, rounding: str) -> int:
    whole, rest = divmod(n * percent, 100)
    if rounding == "floor":
        return whole
    if rounding == "ceiling":
        return whole + (rest > 0)
    if rounding == "half_up":
        return whole + (rest * 2 >= 100)
    raise ValueError(f"unknown rounding {rounding!r}")


def targets(
    n: int, mode: str, shares: tuple[int, int, int], rounding: str = "floor"
) -> tuple[int, int, int]:
    if n <= 0:
        return (0, 0, 0)
    if any(s < 0 for s in shares):
        raise ValueError("award shares cannot be negative")
    running = [shares[0], shares[0] + shares[1], shares[0] + shares[1] + shares[2]]
    if mode == "ratio":
        values = [_share(n, r, rounding) for r in running]
    elif mode == "count":
        values = running
    else:
        raise ValueError(f"unknown award mode {mode!r}")
    first, second, third = (min(v, n) for v in values)
    return first, second, third


def award_bands(
    ordered_places: Sequence[tuple[int, int, int]],
    targets: tuple[int, int, int],
    min_total: int,
) -> dict[int, int]:
    """(key, place, total) best first → key → 1, 2 or 3 for the awarded."""
    bands: dict[int, int] = {}
    start = 0  # the first position not in a higher band
    for band, target in enumerate(targets, start=1):
        if target <= 0 or target > len(ordered_places) or target <= start:
            continue
        cutoff = ordered_places[target - 1][1]
        end = start
        while end < len(ordered_places) and ordered_places[end][1] <= cutoff:
            end += 1
        for key, _place, _total in ordered_places[start:end]:
            bands[key] = band
        start = end
    return {
        key: bands[key]
        for key, _place, total in ordered_places
        if key in bands and total >= min_total
    }

"""Place bands: titles (称号, e.g. 省技术能手 for places 1–3) and skill-level promotions (晋升,
e.g. 1–3 → 高级技师, 4–10 → 技师).

A contestant gets the label of the first band, in the order given, whose places include theirs,
whose minimum total they reach, and which is open to their group (no groups: every group); at
most one per call — the caller asks once for titles and once for promotions. Tied contestants
share a place, so they share the band too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NAME = "place_bands"
VERSION = 1


@dataclass(frozen=True, slots=True)
class PlaceBand:
    label: str
    from_place: int
    to_place: int
    min_total: int  # hundredths
    groups: tuple[str, ...] = ()


def assign(
    ordered_places: Sequence[tuple[int, int, int]], group: str, bands: Sequence[PlaceBand]
) -> dict[int, str]:
    """(key, place, total) → key → label of the first matching band."""
    open_bands = [b for b in bands if not b.groups or group in b.groups]
    if not open_bands:
        return {}
    out = {}
    for key, place, total in ordered_places:
        for band in open_bands:
            if band.from_place <= place <= band.to_place and total >= band.min_total:
                out[key] = band.label
                break
    return out

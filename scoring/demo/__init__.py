"""The demo's scoring: marking schemes for every trade, judges and panels, finished draws for
several trades, and then marks in every state, so each scoring page has something to show.

`load_demo_scoring` runs after the registration demo (it needs admitted contestants) and leaves
the competition competing, with the drawn trades marked (`scoring/demo/marks.py`); with
`marks=False` it stops in the check-in and draw phase, the trades drawn. Each step is
idempotent.
"""

from __future__ import annotations


async def load_demo_scoring(competition_id: int, *, marks: bool = True) -> int:
    """Schemes, then judges and panels, then the draws, then (unless `marks` is False) the
    marks; returns the records written."""
    from scoring.demo.draw import load_demo_draws
    from scoring.demo.marks import load_demo_marks
    from scoring.demo.panels import load_demo_panels
    from scoring.demo.schemes import load_demo_schemes

    written = await load_demo_schemes(competition_id)
    written += await load_demo_panels(competition_id)
    written += await load_demo_draws(competition_id)
    if marks:
        written += await load_demo_marks(competition_id)
    return written

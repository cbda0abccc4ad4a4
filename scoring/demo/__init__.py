"""The demo's scoring: marking schemes for every trade, judges and panels, and finished draws
for several trades, so the score sheets have something to score.

`load_demo_scoring` runs after the registration demo (it needs admitted contestants) and leaves
the competition in its check-in and draw phase. Each step is idempotent.
"""

from __future__ import annotations


async def load_demo_scoring(competition_id: int) -> int:
    """Schemes, then judges and panels, then the draws; returns the records written."""
    from scoring.demo.draw import load_demo_draws
    from scoring.demo.panels import load_demo_panels
    from scoring.demo.schemes import load_demo_schemes

    written = await load_demo_schemes(competition_id)
    written += await load_demo_panels(competition_id)
    written += await load_demo_draws(competition_id)
    return written

"""The demo's scoring: marking schemes for every trade, judges and panels, and finished draws
for several trades, so the score sheets have something to score."""

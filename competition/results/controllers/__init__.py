"""The results' routes by audience: the organizer's results pages (organizer), decryption
(encryption role), appeals and their rulings (supervisor), the public notice board (public),
a contestant's and a delegation's own results and appeals (mine), the JSON API (api), and the
downloads (exports)."""

from __future__ import annotations

from competition.results.controllers import (
    api,
    encryption,
    exports,
    mine,
    organizer,
    public,
    supervisor,
)

ROUTES = [
    *organizer.ROUTES,
    *encryption.ROUTES,
    *supervisor.ROUTES,
    *public.ROUTES,
    *mine.ROUTES,
    *api.ROUTES,
    *exports.ROUTES,
]

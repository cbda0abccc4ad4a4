"""The results' routes by audience: the organizer's results pages (organizer), decryption
(encryption role), appeals and their rulings (supervisor), the public notice board (public),
a contestant's and a delegation's own results, appeals and certificates (mine), the JSON API
(api), the downloads (exports), the organizer's certificates (certificates) and their public
verification (verification), the competition dashboard and the hall board (dashboard), and
the end of the personal data (shredder)."""

from __future__ import annotations

from competition.results.controllers import (
    api,
    certificates,
    dashboard,
    encryption,
    exports,
    mine,
    organizer,
    public,
    shredder,
    supervisor,
    verification,
)

ROUTES = [
    *organizer.ROUTES,
    *encryption.ROUTES,
    *supervisor.ROUTES,
    *public.ROUTES,
    *mine.ROUTES,
    *api.ROUTES,
    *exports.ROUTES,
    *certificates.ROUTES,
    *verification.ROUTES,
    *dashboard.ROUTES,
    *shredder.ROUTES,
]

"""Quarantine as people reach it: rights and jurisdiction in front of the services. Each
function takes the guarded :class:`~fangkong.auth.guard.Call` first.

Readiness, facilities and candidate sites hold no personal data: ``quarantine.read`` and
the actor's region subtree decide what is shown. Changing a facility needs
``quarantine.manage`` and is audited (one row, the facility code, never a person).

Placements hold personal data (who is quarantined, their health checks)::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             placement's facility region, or (home) the region where the person is,
             inside the actor's subtree? ── no ─▶ PlacementUnknown (404), as if absent
                 │
                 ▼
             occupants / placement / alerts ─▶ names masked without person.read_full
             check / test / release / abscond (quarantine.place), period change
             (quarantine.adjust), batch placement (quarantine.place; each request's
             region inside the subtree)
                 └── one audit row per read or change, in the same transaction as the
                     change (ids and outcomes only, never names); a refused change is
                     rolled back and its row kept with the error's code

Codes follow after the commit (``followup.send_codes``), as in the services.

- ``readiness``: readiness of the regions, candidate sites (no personal data);
- ``facilities``: the facilities, editing one, a facility's occupants;
- ``placements``: placing a batch, one placement with its follow-up;
- ``checks``: daily health checks, one or a batch from a field device;
- ``tests``: the tests of a placement's schedule;
- ``release``: release, period changes, absconding;
- ``alerts``: open alerts, closing one.
"""

MAX_BATCH = 5_000  # placement requests or health checks in one call

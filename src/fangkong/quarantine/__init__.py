"""Quarantine (集中隔离): facilities and rooms, placement, follow-up, readiness, site survey.

Entry points other capabilities call:

- ``fangkong.quarantine.rules.QuarantineRules.from_pack(pack)`` — periods, tests and every
  quarantine number of the pack's ``[quarantine]`` section.
- ``fangkong.quarantine.placement.place(engine, requests, rules, *, by, at=None, ...)``
  — a batch of ``terms.PlacementRequest`` → one ``terms.Assignment`` each (rooms, home
  quarantine, home monitoring); never double-booked (``booking``; free rooms: ``pool``).
- ``fangkong.quarantine.readiness.capacity_by_region(bind, rules, *, level=None, at=None,
  within=None)`` → ``RegionCapacity`` per region: available, occupied, standby,
  convertible, rooms vs norm, intake and releases per day, days left.
- Follow-up (随访), one room per use case: ``checks.record_check``,
  ``scheduled_tests.record_test``, ``ending.release`` / ``ending.abscond``,
  ``periods.change_period``, ``alerts.open_alerts`` (the ``quarantine_alerts`` rows);
  ``placed`` reads a placement and ends it.
- The jobs the province loop runs each day (in this order): ``releases.run_releases``
  (tests from single-tube results, periods ended), ``discharge.run_discharges`` (cases
  discharged, discharge test orders), ``intake.run_intake`` (everyone due placed along
  the surge ladder, or ordered home, or named in a ``not_placed`` alert).
"""

"""Road status (道路通行状态, issue 20 part 3): keeping people and goods moving (保通保畅).

Rooms:

- ``rules.py``   the pack's ``[roads]`` section (limits, staleness, window, who may order a
  closure, the tasks' hours) — a pure core;
- ``state.py``   a checkpoint's state from its latest report and its crossings: throughput,
  wait percentiles, congested / closed with or without authority (pure core);
- ``tables.py``  ``roads_reports``, ``roads_status``, ``roads_alerts`` (migration 0026);
- ``status.py``  services: ``record_report``, ``refresh`` (set-based; alerts → command tasks
  of kind ``road_alert`` to the checkpoint's county, cleared when the condition ends);
- ``access.py``  guarded use cases (``road.read``, ``road.report``, jurisdiction);
- ``files.py``   reports from a CSV file; ``map.py`` the status map (inline SVG);
- ``cli.py``     ``fangkong roads status|report|refresh``.

The checkpoints and their crossings belong to ``fangkong.logistics`` (read here, never
written).
"""

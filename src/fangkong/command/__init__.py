"""Provincial command (省疫情防控指挥): situation board, daily briefing, tasks, accountability.

The province looks at the situation, sets work for every level and holds each level to
it (一级抓一级、层层抓落实; 守土有责、守土尽责). docs/command.md is the design. The rooms:

- ``model`` — the vocabularies with Chinese and English labels: task kinds and
  statuses, the board's figure keys, the timeliness measures (四早). Pure data.
- ``tables`` — ``command_tasks``, ``command_task_changes``, ``command_figures``,
  ``command_briefings`` (migration 0018; 0019 moved alerts, needs and the closed loop's
  alerts onto tasks).
- ``rules`` — the pack's ``[command]`` section as typed rules: deadlines per task kind,
  escalation, briefing time, board curve and wall refresh, timeliness targets.
- ``tasks`` — raise (idempotent on kind and source), change status with history and
  evidence, assign by hand to units below, close for a resolved source, escalate overdue
  tasks one level up the regions.
- ``raising`` — the job that raises tasks from their sources (alerts, overdue
  closed-loop stages, contacts awaiting placement, sealed areas' needs, late tubes, risk
  areas due for lifting, forecast shortages) and closes those whose source is resolved.
- ``figures`` — the job that fills ``command_figures`` per region and day (counted at
  the lowest level, summed up the tree); ``board`` reads them, drills down and links
  each number to its list.
- ``briefing`` (+ ``briefing_charts``, ``briefing_html``, ``templates/``) — the daily
  briefing (日报) as self-contained HTML (inline SVG) and CSV, per region and its cities.
- ``timeliness`` and ``accountability`` — the timeliness measures from recorded
  timestamps, tasks on time / late / missed per unit and county, the county ranking and
  the 查漏补短 list.
- ``access_tasks``, ``access_board``, ``access_briefing``, ``access_accountability`` —
  the guarded use cases (a ``Call``) the pages, the API and the CLI call.
- ``cli`` — ``fangkong command ...``; ``errors`` — the typed errors.
"""

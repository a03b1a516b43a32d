"""Provincial command (省疫情防控指挥): situation board, daily briefing, tasks, accountability.

The province looks at the situation, sets work for every level and holds each level to
it (一级抓一级、层层抓落实; 守土有责、守土尽责). The package is built room by room; this
map names every room, those not written yet included, so each lands where it is expected
(docs/command.md is the design):

- ``model`` — the vocabularies with Chinese and English labels: task kinds and
  statuses, the board's figure keys, the timeliness measures (四早). Pure data.
- ``tables`` — ``command_tasks``, ``command_task_changes``, ``command_figures``,
  ``command_briefings`` (migration 0018).
- ``rules`` — the pack's ``[command]`` section as typed rules: deadlines per task kind,
  escalation, briefing time, board curve and wall refresh, timeliness targets.
- ``tasks`` (to come) — raise, acknowledge, progress, close and cancel a task, every
  change a ``command_task_changes`` row and an audit entry; one ``do_*`` per use case.
- ``raise`` (to come, ``raising.py``: ``raise`` is a keyword) — the job that raises
  tasks from their sources (alerts, overdue closed-loop stages, contacts awaiting
  placement, sealed areas' needs, late tubes, risk areas due for lifting, forecast
  shortages), idempotently through UNIQUE(kind, source_type, source_id).
- ``escalate`` (to come) — the job that moves overdue tasks one level up the regions.
- ``board`` / ``figures`` (to come) — the job that fills ``command_figures`` per region
  and day after each daily run, and the board that reads them and drills down.
- ``briefing`` (to come) — the daily briefing (日报) as self-contained HTML and CSV.
- ``accountability`` (to come) — tasks on time, late and missed per unit; timeliness
  measures from stored timestamps; the county ranking and the 查漏补短 list.
- ``access`` (to come) — the guarded functions pages, API and CLI call (a ``Call``).
- ``cli`` (to come) — ``fangkong command ...`` verbs.
"""

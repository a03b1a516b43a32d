"""Early warning (监测预警): signals in, detection, alerts through their lifecycle.

Multi-point signals (多点触发: fever clinics, pharmacies, labs, schools, environment and
cold-chain sampling, routine screening) are stored per reporting point, region and day
(``signals``); the detection job (``detection``) runs the pack's single-event triggers
and statistical detectors (``rules``; the methods come from ``fangkong.surveillance``
through ``methods``) over counts per region level (``series``); candidates become alerts
that fold repeats, move raised → verified → investigated → closed (or dismissed)
(``service``; an overdue alert escalates through its command task, ``fangkong.command``),
read through rights and jurisdiction (``access``)
and summed on the "four earlies" board (``board``). ``model`` holds the vocabularies,
``tables`` the tables, ``cli`` the ``fangkong alerts`` commands.
"""

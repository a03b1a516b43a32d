"""Logistics (物流保通保畅): road checkpoints and the crossings through them.

Rooms: ``tables`` (checkpoints, crossings, their people; migration 0024), ``rules`` (the
pack's ``[logistics]`` section), ``check`` (the pure core: a crossing's outcome from the
facts), ``crossings`` (services: record a crossing, idempotent by (checkpoint, ref); the
checkpoint registry; hourly counts), ``access`` (guarded use cases), ``cli``
(``fangkong logistics``).
"""

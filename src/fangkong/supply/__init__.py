"""Necessities (民生物资保供, issue 20 part 4): the 商务部's daily monitoring of grain, oil,
vegetables, meat, eggs, milk and medicines; days of supply per region; floors; no-contact
deliveries to sealed areas (无接触配送, 民生托底保障). See docs/logistics/supply.md.

Rooms: ``tables`` (outlets, reports, deliveries, alerts; migration 0027), ``rules`` (the
pack's ``[supply]``), ``days`` (the pure core: days of supply, delivery quantities),
``service`` (use cases on a connection), ``files`` (the report file), ``access`` (guarded
use cases taking a ``Call``), ``cli`` (``fangkong supply``).
"""

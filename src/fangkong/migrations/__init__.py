"""The schema's history: the Alembic environment (``env.py``), its revisions
(``versions/``), the catalog of every capability's tables and the rights helpers data
migrations call.

It sits above the capabilities because the catalog imports each one's ``tables.py``; the
store below (``fangkong.store.migrate``) finds this package by name, never by an import.
"""

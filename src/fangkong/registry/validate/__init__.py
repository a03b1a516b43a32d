"""Row validation for registry imports (登记导入校验): pure functions from cells to clean rows
or problems.

Each validator takes one batch of string cells and returns the clean rows (with their
row numbers) and every problem found, naming the row and column. Cross-file facts
(codes already stored, codes seen earlier in the file) come in through ``Context``.

One module per file kind, the shared cell checks apart:

- ``cells``: ``Checked``, ``Context`` and the reading of one row's cells (required,
  optional, choices, counts, references, repeats);
- ``regions``: ``check_regions`` and the shape of statistical codes
  (``region_level_of``, ``region_parent_of``);
- ``venues``: ``check_venues`` (place codes, coordinates);
- ``persons``: ``check_persons`` (documents, phones, households, units; sealing).
"""

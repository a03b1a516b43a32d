"""Medical care under control (封控区群众就医保障): the register of urgent medical needs of
residents of sealed or high-risk areas, designated wards, green-channel transfers.

- ``tables`` — ``care_needs`` (+ ``care_need_changes``), ``care_wards`` (migration 0028,
  which moved the sealed areas' ``medical`` and ``emergency`` needs here);
- ``rules`` — the pack's ``[care]``: kinds and deadlines, buffer wards, ward choice,
  transfer speed, escalation (a pure core);
- ``plan`` — the pure transfer plan: a ward with a free bed, the nearest free vehicle,
  arrival before the deadline, or a refusal naming why;
- ``service`` — register, plan, start, complete, cancel; the need's command task follows
  it; ``escalate_overdue`` (the desk's sweep); ``wards`` and ``views`` — wards saved and
  listed, the needs read;
- ``access`` — the guarded use cases (``care.read``, ``care.manage``, jurisdiction,
  names masked, audited); ``cli`` — ``fangkong care need|ward ...``.
"""

"""Health codes (健康码): 赋码 (assign), 用码 (use at venues), 转码 (change), 解码 (clear).

- ``facts``: what the rules read about a person (plain dataclasses)
- ``rules``: the single-person evaluator with bilingual explanations
- ``bulk``: the same rules over NumPy arrays of millions of persons
- ``tables``: facts, current codes, transitions, corrections, scans (migration 0003;
  review time and fact stamps of a code: 0014)
- ``writer``: the one writer of facts (every other module records facts through it)
- ``service``: the use cases (record_fact, evaluate_person, decide_correction,
  recompute_all, issue_qr, perform_scan) that routes, pages and the CLI call
- ``qr``: Ed25519-signed short-lived tokens and their QR images
"""

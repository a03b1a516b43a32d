"""Health codes (健康码): 赋码 (assign), 用码 (use at venues), 转码 (change), 解码 (clear).

- ``facts``: what the rules read about a person (plain dataclasses)
- ``evaluator``: the single-person evaluator with bilingual explanations
- ``bulk``: the same rules over NumPy arrays of millions of persons
- ``tables``: facts, current codes, transitions, corrections, scans (migration 0003;
  review time and fact stamps of a code: 0014)
- ``writer``: the one writer of facts (every other module records facts through it)
- the use cases that routes, pages and the CLI call: ``context`` (CodeContext),
  ``codes`` (one person: record_fact, evaluate_person, issue_qr), ``corrections``
  (file_correction, decide_correction), ``recompute`` (recompute_all)
- scans (用码): ``scan_verdict`` (the verdict, no database), ``scanning`` (prepare_scan,
  commit_scans, perform_scan), ``scan_writer`` (ScanWriter: group commit)
- ``qr``: Ed25519-signed short-lived tokens and their QR images
"""

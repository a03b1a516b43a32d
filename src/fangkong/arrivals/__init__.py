"""Arrivals closed loop (落地核酸 + 点对点转运 + 闭环管理): manifests in (``manifest_rows``,
``manifests``), the risk decision (``decision``), landing tests and transfers
(``dispatch``, ``transfer``), stages with deadlines (``loop``), the board (``board``), and
the guarded use cases for pages, API and CLI (``access``)."""

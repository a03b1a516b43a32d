"""Testing (核酸检测): samples and pooled tubes (``samples``), custody (``custody``), lab
results (``results``) and what follows them (``resolve``, ``flags``), test orders
(``schedules``, ``individual``), mass-testing campaigns (``campaigns``), pooling maths
(``pooling``), and the guarded use cases (``access/``). See docs/testing.md."""

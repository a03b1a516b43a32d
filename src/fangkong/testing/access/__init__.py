"""Testing as people and devices reach it: rights, jurisdiction, masking, audit (核酸检测).

The use cases of ``fangkong.testing`` (samples, custody, results, campaigns) know nothing
of who asks; the modules of this package put the checks in front of them, once, for the
API routes and the pages. Each function takes the guarded
:class:`~fangkong.auth.guard.Call` first::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             tube / person / campaign / lab inside the actor's region subtree?
                 │ no ─▶ NotFound, the answer of a record that does not exist
                 ▼
             service ─▶ names masked without ``person.read_full``
                 └── one audit row per read of personal data or change (ids and barcodes
                     only, never names or numbers), also when refused

- ``samples``: register a sample, the persons named by ID number or health-code QR;
- ``custody``: ship tubes to a lab, a lab signs for them;
- ``tubes``: read a tube, a person's tests;
- ``results``: a lab posts results; the results board, overdue tubes;
- ``campaigns``: mass-testing campaigns (start, progress, who is not sampled).

Rights: samplers (``sample.collect``) register samples and ship tubes from collection
points in their jurisdiction; labs (``result.post``) receive tubes and post results for
labs on their branch of the region tree (inside the jurisdiction or above it: a lab
tests tubes from anywhere); reading tubes, a person's tests and campaigns needs
``testing.read``; starting campaigns and flagging overdue tubes ``testing.manage``.
Devices: a token of scope ``sampling`` collects at its venue, one of scope ``lab``
receives and posts.
"""

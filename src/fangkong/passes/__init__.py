"""Key-freight passes (重点物资运输车辆通行证): one national form for a vehicle, its
drivers, a route and a period, issued by the provincial mechanism (docs/logistics/passes.md).

- ``model``: vocabularies (vehicle kinds, cargo classes, verdicts), plates, region codes
- ``rules``: the pack's ``[passes]`` section (who qualifies, validity, drivers' tests)
- ``token``: the signed QR token (its own Ed25519 key, like the health code's) and its SVG
- ``verdict``: a pass's verdict at a checkpoint (pure)
- ``tables``: freight_passes, freight_pass_drivers (migration 0025)
- ``verify``: ``check_pass`` — one indexed read; the crossings call it
- ``service``: issue, renew, revoke, read, list (use cases on a connection)
- ``access``: the guarded use cases (pass.read, pass.issue) pages, API and CLI call
- ``cli``: ``fangkong passes issue|renew|revoke|show|list``
"""

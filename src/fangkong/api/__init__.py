"""The JSON shell: the ``/api/v1`` routes for devices and programs, the health endpoints
and the scan fast path. ``fangkong.server.app.create_app`` assembles them with the pages
of ``fangkong.web``; what both shells share lives in ``fangkong.http``.
"""

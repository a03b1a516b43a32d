"""The process above both shells: the FastAPI app factory (``server.app.create_app``, the
API routers of ``fangkong.api``, the page routers of ``fangkong.web``, static files, the
offline docs at ``/docs``, error translation) and ``fangkong serve`` (``server.cli``).
"""

"""The HTTP service: FastAPI app (JSON API, health, pages, offline docs), ``fangkong serve``.

``fangkong.api.app.create_app`` builds the application; routes live in
``fangkong.api.routes`` (JSON) and ``fangkong.web.pages`` (HTML).
"""

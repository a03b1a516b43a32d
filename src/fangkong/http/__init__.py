"""What the two shells (``fangkong.api``: JSON for devices and programs; ``fangkong.web``:
pages for people) share about a request: the application context, who is calling
(session cookie or bearer token), CSRF, and the FastAPI dependencies that hand a route
its :class:`fangkong.auth.guard.Call`. Neither shell imports the other; both import this.
"""

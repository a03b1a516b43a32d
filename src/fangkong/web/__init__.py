"""Server-rendered pages (Jinja2 + htmx), vendored static assets, translations (zh/en)."""

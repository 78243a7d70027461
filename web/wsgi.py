"""WSGI entry point for gunicorn (`webir serve`)."""

from web import create_app

app = create_app()

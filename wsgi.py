"""WSGI entry point: gunicorn 'wsgi:app'."""

from eldercare import create_app

app = create_app()

"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi <command>."""

import gc

from app import create_app

app = create_app()

# What importing the app made (SQLAlchemy's mappers, Jinja, WTForms, plotly...) lives as long as
# the process: kept out of the collector, a full collection during a request no longer walks
# all of it (about 1 ms of a page view's CPU, issue 21). Under gunicorn --preload this runs in
# the master before the fork, so the workers inherit it; without, in each worker.
gc.collect()
gc.freeze()

"""The domain: plain functions over a SQLAlchemy Session. No Flask request objects, no commits."""

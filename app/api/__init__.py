"""The JSON API (Bearer API key or a logged-in session)."""

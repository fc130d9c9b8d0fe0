"""HTML blueprints: parse input, call app.drip, render."""

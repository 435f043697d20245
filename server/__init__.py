"""The clinic server."""

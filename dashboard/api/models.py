"""HTTP API models: API keys (see dashboard/api/__init__.py)."""

"""The read-only JSON API under /api/v1/ (an app of its own for its API-key model)."""

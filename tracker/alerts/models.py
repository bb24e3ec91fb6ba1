"""Alert models (see tracker/alerts/__init__.py)."""

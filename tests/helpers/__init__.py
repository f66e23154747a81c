"""Helpers shared by several test areas (importable as ``helpers.*``: ``tests`` is on pytest's pythonpath)."""

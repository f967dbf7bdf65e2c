"""Registers the ``unity:`` env adapter."""

"""The distribution version, in a module of its own so core modules can read it without importing the package root."""

__version__ = "0.1.0"

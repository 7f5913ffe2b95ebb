"""Switchboard: an AI language server with a model gateway inside."""

__version__ = "0.1.0"

"""Errors a person can act on, raised by core and shown as they are (never as a traceback)."""

from __future__ import annotations


class RunError(Exception):
    """A run could not be made; the message says why in words a person can act on."""

"""Attention Explorer: look inside Transformers."""

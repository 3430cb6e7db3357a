"""Farm support: frame chunks and job templates (Open Job Description)."""

from .chunks import select_chunk

__all__ = ["select_chunk"]

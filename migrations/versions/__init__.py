"""Revisions, one file each, all reversible."""

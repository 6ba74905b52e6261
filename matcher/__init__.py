"""Affinities and the capacity-constrained assignment solver (numpy/scipy; no DB, no HTTP)."""

"""Huiqi service: HTTP API, persistence, CLI and staff pages around the matching core."""

"""Tests of the service; the only tests that see a database."""

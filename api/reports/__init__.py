"""Exports and reports: pairings and match lists as XLSX, round and period reports with charts."""

"""Sentence vectors of demands and provider documents, encoded once by the worker."""

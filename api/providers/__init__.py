"""Societies, branches and experts: the providers demands are matched to."""

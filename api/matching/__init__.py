"""Matching: ranked match lists, rounds run by workers, review and tracking of pairings."""

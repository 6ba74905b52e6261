"""Demand intake and review: enterprises submit technology demands, staff review them."""

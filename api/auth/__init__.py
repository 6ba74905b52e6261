"""Who may do what: staff bearer tokens and enterprises' receipt tokens."""

"""Learning from staff decisions: the switch, the decisions the ranking learns from, and their audit."""

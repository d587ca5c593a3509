"""Attacks from hostile servers and careless teammates (issue 9): a test per defence."""

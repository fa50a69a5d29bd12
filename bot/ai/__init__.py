"""AI participants: labelled, plural, local by default, never authoritative."""

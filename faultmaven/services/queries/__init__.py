"""Queries: submitting a turn, running it under a lease, its events, and saving the masks it added."""

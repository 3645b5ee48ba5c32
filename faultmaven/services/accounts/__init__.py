"""Accounts: users and their passwords, tokens, sessions, teams and case sharing."""

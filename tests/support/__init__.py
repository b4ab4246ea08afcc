"""Helpers shared by every tier of tests: one copy of each (servers, sign-in, waiting, calls)."""

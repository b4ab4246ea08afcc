"""Use cases: one function per thing a member can do, called by the HTTP views."""

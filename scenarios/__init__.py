"""The lab: the local stack, scenarios, load, faults, checks and the runner."""

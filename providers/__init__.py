"""The outside world, simulated: a payment provider and an identity provider for the lab."""

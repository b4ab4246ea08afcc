"""One module per bench measurement; each registers itself with ``registry.measurement``."""

"""Pure booking rules: no I/O here, only the standard library."""

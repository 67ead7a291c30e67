"""Pure decision logic on plain Kubernetes API dicts: no I/O, no clock, no printing."""

"""kubectl-ds: why (or why not) a DaemonSet runs on a node, and which nodes it misses."""

__version__ = "0.1.0"

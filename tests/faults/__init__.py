"""Faults with real processes: kills, restarts, failover, startup failures, retries."""

"""Tolmach's tests, by tier: unit, handlers, e2e, faults and web; support/ is what they share."""

"""Building blocks the tiers share: processes, the stack, models, samples, the emulator."""

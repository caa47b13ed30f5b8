"""Triggers: ``seedance`` (the deferrable wait for one job, polling over the triggerer's
shared client pool)."""

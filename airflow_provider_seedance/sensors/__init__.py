"""Sensors: ``seedance`` (wait for a job someone else submitted, in a worker or deferred)."""

"""The engine: waves, limits, threshold gates, bulk polling, outcomes, journal and resume."""

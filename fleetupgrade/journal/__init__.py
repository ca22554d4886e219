"""The run directory and its SQLite journal: the single source of truth of a run."""

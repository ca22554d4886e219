"""Carrying out a plan against vCenters: waves, Supervisors, watching, dry run."""

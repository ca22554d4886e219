"""``python -m fleetupgrade`` runs the CLI."""

from fleetupgrade.cli import main

main()

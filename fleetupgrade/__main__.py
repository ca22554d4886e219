"""``python -m fleetupgrade`` runs the CLI."""

from fleetupgrade.cli.main import main

main()

"""``python -m custody_cli`` runs the ``custody`` command."""

from custody_cli.main import main

main()

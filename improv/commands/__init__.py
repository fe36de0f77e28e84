"""One module per `improv` command; see `improv.cli.COMMANDS`."""

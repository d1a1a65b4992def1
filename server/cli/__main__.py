"""`python -m server.cli`: the `forum` command without its console script."""

from server.cli.main import main

main()

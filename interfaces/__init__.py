"""interfaces: how people reach duoce — the `duoce` command line (Typer + Rich) and its console entry; nothing imports this package."""

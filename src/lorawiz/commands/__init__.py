"""The CLI commands' bodies; cli.py imports them lazily so --help stays fast."""

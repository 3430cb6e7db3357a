"""Subcommands of the `billow` CLI, one module each (see `billow.cli`)."""

"""Subcommands of the `casework` console script, one module per group."""

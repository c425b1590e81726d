"""The Casework intake service (see its issue; a shell until then)."""

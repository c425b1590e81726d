"""The Casework dispatch service (see its issue; a shell until then)."""

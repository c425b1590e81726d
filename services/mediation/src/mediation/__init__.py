"""The Casework mediation service (see its issue; a shell until then)."""

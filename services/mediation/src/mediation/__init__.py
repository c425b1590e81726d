"""The Casework mediation service: disputes settled in rounds, at the right tier, with the right
people. See README.md ("Mediation service") and services/mediation/README.md (its modules)."""

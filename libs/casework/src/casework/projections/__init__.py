"""casework.projections."""

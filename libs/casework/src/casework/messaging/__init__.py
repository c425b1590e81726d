"""casework.messaging."""

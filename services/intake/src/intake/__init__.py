"""The Casework intake service: the front desk for reports, look-ups and case files."""

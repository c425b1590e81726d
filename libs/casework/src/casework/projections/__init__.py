"""Read models fed by case events: what the services build their views on."""

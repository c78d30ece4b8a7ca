"""Actions that change the inventory app's data, one module per concept."""

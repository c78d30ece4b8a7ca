"""Actions that change the surveys app's data, one module per concept."""

"""Actions that change orders and their tax tables (views and tasks call these)."""

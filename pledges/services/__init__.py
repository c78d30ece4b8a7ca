"""Actions that change campaigns, backers and imports (views and tasks call these)."""

from .campaigns import create_campaign, update_campaign

__all__ = ["create_campaign", "update_campaign"]

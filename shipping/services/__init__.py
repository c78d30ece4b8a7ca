"""Actions on a campaign's shipping setup, one module per concept: profiles
(method, exclusions), zones, fees and bands, quotes, rate cards."""

"""Payment gateways: Stripe and the built-in test gateway behind one small adapter."""

"""Gateway webhooks (mounted at /webhooks/ by config/urls.py)."""

urlpatterns: list = []

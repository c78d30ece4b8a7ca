"""Back-office URLs (mounted under /app/ in config/urls.py)."""

urlpatterns: list = []

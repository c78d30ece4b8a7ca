"""Back-office URLs (mounted under /app/ by orders/urls.py)."""

urlpatterns: list = []

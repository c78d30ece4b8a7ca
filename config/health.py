"""Liveness for load balancers and compose healthchecks.

Answered before host validation and the HTTPS redirect: probes call
http://localhost:8000/healthz, a host name that ALLOWED_HOSTS rightly refuses."""

from django.db import connection
from django.http import JsonResponse


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
                return JsonResponse({"status": "error", "detail": type(exc).__name__}, status=503)
            return JsonResponse({"status": "ok"})
        return self.get_response(request)

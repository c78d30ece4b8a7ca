"""The address of the client behind the proxies we trust, for rate limits (login
attempts, late-pledge store orders).

Each proxy in front of the app appends the address it received the request from to
X-Forwarded-For. With TRUSTED_PROXY_COUNT = N (env, default 0) the client is the
N-th address from the right: what our outermost proxy saw. Entries further left
came from the client itself and may be anything, so they are never used. With no
trusted proxy, X-Forwarded-For is ignored and REMOTE_ADDR is the client."""

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        return remote  # not through all our proxies: the connection is all we know
    return forwarded[-count]

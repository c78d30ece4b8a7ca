from django.utils.functional import SimpleLazyObject


def backoffice(request):
    """The organizations the signed-in user belongs to, for the header's team links."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    # Lazy and evaluated once: pages that never show the header pay no query.
    memberships = SimpleLazyObject(
        lambda: list(user.memberships.select_related("organization").order_by("organization__name"))
    )
    return {"my_memberships": memberships}

"""What every app's list pages share about keyset paging and their query strings."""


def after_param(request) -> int:
    """The `after` key of a keyset page: a non-negative id, 0 when absent or not a number."""
    after = request.GET.get("after", "")
    return int(after) if after.isascii() and after.isdigit() and len(after) <= 18 else 0


def query_with(request, **changes) -> str:
    """The current query string with `changes` applied (None removes a parameter)."""
    params = request.GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = value
    return params.urlencode()

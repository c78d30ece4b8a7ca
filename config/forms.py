"""What every app's pages share about forms."""


def add_refusal(form, exc) -> None:
    """Show a refused action's domain error (`.message`, `.field`) on the form: next to
    its field when the form has that field, above the form otherwise."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)

class SurveysError(Exception):
    """A refused action of the surveys app. `field` names the form field the
    message belongs next to (None: the whole form)."""

    code = "surveys_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AddOnInvalid(SurveysError):
    code = "addon_invalid"


class ImportedAddOnInvalid(SurveysError):
    code = "imported_addon_invalid"

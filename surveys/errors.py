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


class LinkInvalid(SurveysError):
    """A magic link that was tampered with, voided or belongs elsewhere (403)."""

    code = "link_invalid"


class LinkExpired(LinkInvalid):
    code = "link_expired"


class SurveyLocked(SurveysError):
    """The order is locked (or the survey closed): answers are read-only."""

    code = "survey_locked"


class SurveyIncomplete(SurveysError):
    code = "survey_incomplete"


class ChoiceInvalid(SurveysError):
    code = "choice_invalid"


class CartInvalid(SurveysError):
    """An add-on cannot be bought as asked (tier, dates, per-backer limit)."""

    code = "cart_invalid"


class OutOfStock(CartInvalid):
    code = "out_of_stock"


class AnswerInvalid(SurveysError):
    code = "answer_invalid"

"""The form of the review rules page: which orders wait for a person to look."""

from decimal import Decimal

from django import forms
from django_countries import countries

from .models import ReviewRules

# A week: later than that, a reminder before the lock date is no longer one.
MAX_NOTICE_HOURS = 7 * 24


class ReviewRulesForm(forms.Form):
    value_above = forms.DecimalField(
        label="Order value above",
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    countries = forms.MultipleChoiceField(
        label="Destinations always reviewed",
        required=False,
        choices=lambda: list(countries),
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Orders going to these countries wait for a person to look. "
        "Hold Ctrl (⌘ on a Mac) to pick several.",
    )
    refuse_po_boxes = forms.BooleanField(
        label="Carrier refuses PO boxes",
        required=False,
        help_text="Orders to a PO box, Packstation or parcel locker wait for review.",
    )
    lock_notice_hours = forms.IntegerField(
        label="Lock notice (hours before the lock date)",
        min_value=1,
        max_value=MAX_NOTICE_HOURS,
        help_text="Backers whose order is still open are reminded this long before "
        "their choices and address lock.",
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value_above"].label = f"Order value above ({currency})"
        self.fields["value_above"].help_text = (
            f"Orders whose total is more than this, in {currency}, wait for a person to "
            "look. Empty: no limit."
        )

    @staticmethod
    def initial_of(rules: ReviewRules) -> dict:
        return {
            "value_above": rules.value_above.amount if rules.value_above is not None else None,
            "countries": [str(code).upper() for code in rules.countries or ()],
            "refuse_po_boxes": rules.refuse_po_boxes,
            "lock_notice_hours": rules.lock_notice_hours,
        }

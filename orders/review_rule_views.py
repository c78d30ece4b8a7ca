"""The review rules page of the orders back office: which orders wait for a person
to look (`manual_review`), and applying changed rules to the open orders at once.
Owners and managers change them; everyone who sees the review queue may read them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from pledges.selectors import campaign_for

from .order_views import orders_context
from .review_rule_forms import ReviewRulesForm
from .services import review_rules

# The rules are campaign settings: the roles that change campaign settings change them.
VIEW, CHANGE = "orders.view", "campaign.change"
INVALID = 400


def _open_order_count(campaign) -> int:
    return campaign.orders.filter(
        state__in=review_rules.RECHECK_STATES, locked_at__isnull=True
    ).count()


@login_required
@require_http_methods(["GET", "POST"])
def review_rules_page(request, slug):
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=CHANGE if request.method == "POST" else VIEW
    )
    can_change = role_can(role, CHANGE)
    rules = review_rules.review_rules_for(campaign=campaign)
    form = ReviewRulesForm(
        request.POST or None,
        currency=campaign.currency,
        initial=ReviewRulesForm.initial_of(rules),
    )
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        review_rules.save_review_rules(campaign=campaign, **form.cleaned_data)
        messages.success(
            request,
            "Review rules saved. Orders built from now on follow them; "
            "re-check the open orders to apply them to those too.",
        )
        return redirect("order-review-rules", campaign.slug)
    context = orders_context(campaign, role, "order-review-rules")
    context.update(
        form=form,
        can_change_rules=can_change,
        open_orders=_open_order_count(campaign),
        saved=rules.pk is not None,
    )
    return render(
        request, "orders/review/rules.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_POST
def review_rules_recheck(request, slug):
    """Apply the saved rules to the open orders now (manual_review opened or cleared)."""
    campaign, _role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    result = review_rules.recheck_open_orders(campaign=campaign, actor=request.user)
    text = (
        f"{result.checked} open order(s) re-checked: manual review opened on "
        f"{result.opened}, cleared on {result.cleared}"
    )
    if result.updated:
        text += f", reasons updated on {result.updated}"
    if result.kept_cleared:
        text += f"; {result.kept_cleared} left cleared (someone had already let them go)"
    messages.success(request, text + ".")
    return redirect("order-review-rules", campaign.slug)

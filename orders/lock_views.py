"""The lock page: what would lock now (ready orders) and why the others would not,
a dry-run preview for all ready orders or a segment, and "lock now" after an
explicit confirmation. Needs orders.lock; other organizations' campaigns are 404."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from pledges.selectors import campaign_for

from .models import Segment
from .order_views import orders_context
from .services.locking import lock_orders, lock_preview, segment_orders

LOCK = "orders.lock"
INVALID = 400


class LockForm(forms.Form):
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(),
        required=False,
        empty_label="All ready orders of the campaign",
        label="Which orders",
    )
    confirm = forms.BooleanField(
        required=False, label="Yes, lock these orders now: backers can no longer change them"
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(campaign=campaign).order_by("name")


def _scope(segment):
    return None if segment is None else segment_orders(segment=segment)


@login_required
@require_http_methods(["GET", "POST"])
def lock_page(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=LOCK)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = LockForm(data, campaign=campaign)
    segment = None
    if form.is_bound and form.is_valid():
        segment = form.cleaned_data["segment"]
    if request.method == "POST" and form.is_valid():
        if not form.cleaned_data["confirm"]:
            form.add_error("confirm", "Tick the box to confirm: a lock cannot be undone in bulk.")
        else:
            result = lock_orders(campaign=campaign, orders=_scope(segment), actor=request.user)
            text = f"{result.locked:,} order{'s' if result.locked != 1 else ''} locked"
            if segment is not None:
                text += f" (segment “{segment.name}”)"
            if result.not_ready_orders:
                text += f"; {result.not_ready_orders:,} not ready, left as they are"
            if result.payment_failed:
                text += f"; {result.payment_failed:,} charges failed, those stay unlocked"
            messages.success(request, text + ".")
            return redirect("order-lock", campaign.slug)
    context = orders_context(campaign, role, active="order-lock")
    context.update(
        form=form,
        segment=segment,
        lock_passed=bool(campaign.survey_lock_at and campaign.survey_lock_at <= timezone.now()),
        campaign_preview=lock_preview(campaign=campaign),
        preview=lock_preview(campaign=campaign, orders=_scope(segment)) if segment else None,
    )
    return render(request, "orders/lock/page.html", context, status=INVALID if form.errors else 200)

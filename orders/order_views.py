"""The orders back office: the order list (filters, segments, bulk tags), one order's
page (money, lines, holds, address versions, timeline, staff actions), the review
queue, tags and segments. Thin: each POST validates a form and calls one service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from config.forms import add_refusal
from pledges.navigation import campaign_context
from pledges.selectors import campaign_for

from . import selectors
from .errors import OrdersError
from .models import (
    AddressStatus,
    HoldReason,
    LineSource,
    Order,
    OrderHold,
    OrderState,
    Segment,
    Tag,
)
from .order_forms import (
    BulkTagForm,
    MergeForm,
    NoteForm,
    OrderFilterForm,
    ReasonForm,
    ReviewBulkForm,
    ReviewFilterForm,
    SegmentForm,
    TagForm,
    filters_query,
)
from .services import addresses, building, locking, review_queue, segments, tags
from .services.holds import clear_hold

VIEW, CHANGE, LOCK = "orders.view", "orders.change", "orders.lock"
PER_PAGE = 50
INVALID = 400
# Read-only pages answer other methods with 405, but only after the tenancy check:
# another organization learns nothing, not even that the URL exists.
READ_METHODS = ["GET", "HEAD"]

# (label, url name taking the campaign slug, action the role needs)
ORDER_PAGES: list[tuple[str, str, str]] = [
    ("Orders", "order-list", VIEW),
    ("Review queue", "order-review", VIEW),
    ("Review rules", "order-review-rules", VIEW),
    ("Tags", "order-tags", VIEW),
    ("Segments", "order-segments", VIEW),
    ("Lock", "order-lock", "orders.lock"),
    ("Exports", "order-exports", "orders.export"),
    ("Invoices", "invoice-list", "payments.view"),
]


def orders_context(campaign, role, active: str) -> dict:
    """campaign_context for an Orders page, plus the Orders menu with `active` marked."""
    context = campaign_context(campaign, role, active="order-list")
    context["orders_nav"] = [
        {"label": label, "url": reverse(name, args=[campaign.slug]), "active": name == active}
        for label, name, action in ORDER_PAGES
        if role_can(role, action)
    ]
    context["can_change"] = role_can(role, CHANGE)
    context["can_lock"] = role_can(role, LOCK)
    return context


def _order(campaign, number) -> Order:
    return get_object_or_404(Order, campaign=campaign, number=number)


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _back(request, fallback: str) -> HttpResponseRedirect:
    """Back to the page the form was on (`next`, same host only), else `fallback`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def _refused(request, exc: OrdersError) -> None:
    messages.error(request, exc.message)


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


# --- the order list ----------------------------------------------------------------


@login_required
def order_list(request, slug):
    """Orders a page at a time (keyset by number: ?after=<number>), filtered; a saved
    segment (?segment=<id>) opens the list with its filters."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_METHODS:
        return HttpResponseNotAllowed(READ_METHODS)
    segment_id = _int_param(request, "segment")
    if segment_id:
        segment = get_object_or_404(Segment, pk=segment_id, campaign=campaign)
        query = filters_query(segment.filters)
        return redirect(f"{reverse('order-list', args=[slug])}?{query.urlencode()}")
    campaign_tags = list(Tag.objects.filter(campaign=campaign).order_by("name"))
    form = OrderFilterForm(
        request.GET if any(k != "after" for k in request.GET) else None,
        campaign=campaign,
        tags=campaign_tags,
    )
    filters = form.filters()
    after = _int_param(request, "after")
    rows, has_next = selectors.order_page(
        orders=selectors.orders_for(campaign=campaign, filters=filters),
        after=after,
        size=PER_PAGE,
    )
    query = filters_query(filters)
    next_query = None
    if has_next:
        next_page = query.copy()
        next_page["after"] = str(rows[-1].number)
        next_query = next_page.urlencode()
    context = orders_context(campaign, role, "order-list")
    context.update(
        form=form,
        filtered=bool(filters),
        filters_ignored=form.ignored,
        orders=rows,
        next_query=next_query,
        paged=bool(after),
        query=query.urlencode(),
        hidden_filters=[(key, value) for key, values in query.lists() for value in values],
        segments=list(Segment.objects.filter(campaign=campaign).order_by("name")),
        tags=campaign_tags,
        segment_form=SegmentForm(),
        here=request.get_full_path(),
    )
    return render(request, "orders/orders/list.html", context)


@login_required
@require_POST
def order_bulk_tag(request, slug):
    """Add or remove a tag on the ticked orders (only this campaign's)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    form = BulkTagForm(request.POST)
    fallback = reverse("order-list", args=[slug])
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, fallback)
    ids = form.cleaned_data["orders"]
    name = form.cleaned_data["tag"]
    try:
        if form.cleaned_data["action"] == "add":
            tag = tags.tag_by_name(campaign=campaign, name=name)
            done = tags.tag_orders(tag=tag, order_ids=ids, actor=request.user)
            messages.success(request, f"Tag “{tag.name}” added to {done} order(s).")
        else:
            tag = Tag.objects.filter(campaign=campaign, name__iexact=name.strip()).first()
            done = (
                0 if tag is None else tags.untag_orders(tag=tag, order_ids=ids, actor=request.user)
            )
            messages.success(request, f"Tag “{name.strip()}” removed from {done} order(s).")
    except OrdersError as exc:
        _refused(request, exc)
    return _back(request, fallback)


# --- one order -------------------------------------------------------------------------

LINE_GROUPS = [
    (LineSource.REWARD, LineSource.CHOICE, LineSource.CHOICE_PENDING),
    (LineSource.STRETCH_GOAL,),
    (LineSource.ADDON, LineSource.ADDON_UNMAPPED),
    (LineSource.REGIONAL,),
    (LineSource.REPLACEMENT,),
]
GROUP_LABELS = ["Reward and choices", "Stretch goals", "Add-ons", "Regional", "Replacement"]


def _line_groups(lines) -> list[dict]:
    groups = []
    for label, sources in zip(GROUP_LABELS, LINE_GROUPS, strict=True):
        rows = [line for line in lines if line.source in sources]
        if rows:
            groups.append({"label": label, "lines": rows})
    return groups


def _order_page_context(request, campaign, role, order: Order, **extra) -> dict:
    lines = list(order.lines.select_related("sku").order_by("position", "pk"))
    holds = list(order.holds.select_related("opened_by", "cleared_by").order_by("-opened_at"))
    context = orders_context(campaign, role, "order-list")
    context.update(
        order=order,
        line_groups=_line_groups(lines),
        open_holds=[hold for hold in holds if hold.is_open],
        cleared_holds=[hold for hold in holds if not hold.is_open],
        addresses=list(order.addresses.select_related("created_by", "accepted_by")),
        events=list(selectors.order_timeline(order=order)),
        order_tags=list(order.tags.order_by("name")),
        address_needs_accept=(
            order.address_id is not None
            and order.address_status in (AddressStatus.INVALID, AddressStatus.UNCHECKED)
            and order.state in (OrderState.DRAFT, OrderState.SUBMITTED, OrderState.READY)
        ),
        is_locked=order.state == OrderState.LOCKED,
        reason_form=ReasonForm(),
        unlock_form=ReasonForm(prefix="unlock"),
        merge_form=MergeForm(),
        note_form=NoteForm(),
        here=request.get_full_path(),
    )
    context.update(extra)
    return context


@login_required
def order_detail(request, slug, number):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_METHODS:
        return HttpResponseNotAllowed(READ_METHODS)
    order = get_object_or_404(
        Order.objects.select_related("reward", "address", "backer", "merged_into"),
        campaign=campaign,
        number=number,
    )
    context = _order_page_context(request, campaign, role, order)
    return render(request, "orders/orders/detail.html", context)


@login_required
@require_POST
def order_hold_clear(request, slug, number, hold_id):
    """Clear one open hold of the order (a note is optional). htmx gets the row back."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    order = _order(campaign, number)
    hold = get_object_or_404(OrderHold, pk=hold_id, order=order)
    form = NoteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            hold = clear_hold(hold=hold, actor=request.user, note=form.cleaned_data["note"])
        except OrdersError as exc:
            error = exc.message
    else:
        error = "The note is too long."
    if request.htmx:
        hold.refresh_from_db()
        order.refresh_from_db()
        return render(
            request,
            "orders/orders/_hold_cleared.html",
            {"hold": hold, "order": order, "error": error},
            status=INVALID if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{hold.get_reason_display()} cleared on order {order.number}.")
    return _back(request, reverse("order-detail", args=[slug, number]))


@login_required
@require_POST
def order_address_accept(request, slug, number):
    """Accept the order's current address as it is, with a reason (clears the hold)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    order = get_object_or_404(
        Order.objects.select_related("address"), campaign=campaign, number=number
    )
    form = ReasonForm(request.POST)
    fallback = reverse("order-detail", args=[slug, number])
    if order.address is None:
        messages.error(request, f"Order {order.number} has no address to accept.")
        return _back(request, fallback)
    if not form.is_valid():
        messages.error(request, "Give a reason for accepting the address as it is.")
        return _back(request, fallback)
    try:
        addresses.accept_address(
            address=order.address, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except OrdersError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"Address of order {order.number} accepted as it is.")
    return _back(request, fallback)


@login_required
@require_POST
def order_unlock(request, slug, number):
    """Unlock one locked order, with a reason (logged on the timeline)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=LOCK)
    order = _order(campaign, number)
    form = ReasonForm(request.POST, prefix="unlock")
    if not form.is_valid():
        messages.error(request, "Give a reason for unlocking the order.")
    else:
        try:
            locking.unlock_order(
                order=order, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except OrdersError as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"Order {order.number} unlocked.")
    return redirect("order-detail", slug, number)


@login_required
@require_http_methods(["GET", "POST"])
def order_merge(request, slug, number):
    """Merge another order of the campaign into this one: pick it by number, see both,
    then confirm. The other order is cancelled and points here."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    keep = get_object_or_404(
        Order.objects.select_related("reward", "address"), campaign=campaign, number=number
    )
    form = MergeForm(request.POST if request.method == "POST" else (request.GET or None))
    other = None
    if form.is_bound and form.is_valid():
        other_number = form.cleaned_data["number"]
        other = (
            Order.objects.select_related("reward", "address")
            .filter(campaign=campaign, number=other_number)
            .first()
        )
        if other is None:
            form.add_error("number", f"This campaign has no order {other_number}.")
        elif other.pk == keep.pk:
            form.add_error("number", "Pick another order than this one.")
            other = None
    if request.method == "POST" and other is not None and form.cleaned_data.get("confirm"):
        try:
            building.merge_orders(keep=keep, merge=other, actor=request.user)
        except OrdersError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Order {other.number} merged into order {keep.number}.")
            return redirect("order-detail", slug, number)
    context = orders_context(campaign, role, "order-list")
    context.update(
        order=keep,
        other=other,
        form=form,
        keep_lines=list(keep.lines.order_by("position", "pk")),
        other_lines=list(other.lines.order_by("position", "pk")) if other else [],
    )
    status = INVALID if form.errors else 200
    return render(request, "orders/orders/merge.html", context, status=status)


# --- the review queue ------------------------------------------------------------------


def _review_after(value: str):
    reason, _, pk = value.partition(":")
    if reason in HoldReason.values and pk.isdigit():
        return reason, int(pk)
    return None


@login_required
def review_queue_page(request, slug):
    """Open holds grouped by reason with counts; filter by reason and country; a page
    at a time (keyset: ?after=<reason>:<hold id>)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_METHODS:
        return HttpResponseNotAllowed(READ_METHODS)
    form = ReviewFilterForm(request.GET or None)
    values = form.values()
    holds = selectors.open_holds_for(campaign=campaign, **values).order_by("reason", "pk")
    after = _review_after(request.GET.get("after", ""))
    if after:
        reason, pk = after
        holds = holds.filter(Q(reason__gt=reason) | Q(reason=reason, pk__gt=pk))
    rows = list(holds[: PER_PAGE + 1])
    has_next = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    next_query = None
    if has_next:
        query = request.GET.copy()
        query["after"] = f"{rows[-1].reason}:{rows[-1].pk}"
        next_query = query.urlencode()
    counts = selectors.hold_counts(campaign=campaign, country=values["country"])
    context = orders_context(campaign, role, "order-review")
    context.update(
        form=form,
        counts=counts,
        total=sum(row["count"] for row in counts),
        holds=rows,
        next_query=next_query,
        paged=bool(after),
        bulk_actions=ReviewBulkForm.ACTIONS,
        here=request.get_full_path(),
        address_reason=HoldReason.ADDRESS_INVALID,
    )
    return render(request, "orders/orders/review.html", context)


@login_required
@require_POST
def review_bulk(request, slug):
    """The review queue's bulk action on the ticked holds."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    form = ReviewBulkForm(request.POST)
    fallback = reverse("order-review", args=[slug])
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, fallback)
    data = form.cleaned_data
    hold_ids = data["holds"]
    try:
        if data["action"] == "clear":
            done = review_queue.clear_selected_holds(
                campaign=campaign, hold_ids=hold_ids, actor=request.user, note=data["note"]
            )
            text = f"{done} hold(s) cleared."
            if done < len(hold_ids):
                text += (
                    f" {len(hold_ids) - done} left open: an order still has a line without a "
                    "SKU (a choice not made or an add-on not mapped), or the hold was cleared "
                    "already."
                )
            messages.success(request, text)
        elif data["action"] == "email":
            result = review_queue.email_backers_to_fix(
                campaign=campaign, hold_ids=hold_ids, actor=request.user
            )
            text = f"{result.sent} backer(s) emailed."
            if result.skipped:
                text += (
                    f" {result.skipped} skipped (no email or survey link, or nothing to ask for)."
                )
            messages.success(request, text)
        else:
            tag = tags.tag_by_name(campaign=campaign, name=data["tag"])
            order_ids = OrderHold.objects.filter(
                pk__in=hold_ids, order__campaign=campaign
            ).values_list("order_id", flat=True)
            done = tags.tag_orders(tag=tag, order_ids=list(order_ids), actor=request.user)
            messages.success(request, f"Tag “{tag.name}” added to {done} order(s).")
    except OrdersError as exc:
        _refused(request, exc)
    return _back(request, fallback)


# --- tags ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tag_list(request, slug):
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=CHANGE if request.method == "POST" else VIEW
    )
    form = TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tag = tags.create_tag(campaign=campaign, **form.cleaned_data)
        except OrdersError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Tag “{tag.name}” added.")
            return redirect("order-tags", slug)
    context = orders_context(campaign, role, "order-tags")
    context.update(form=form, tags=selectors.tags_with_counts(campaign=campaign))
    return render(
        request, "orders/orders/tags.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_POST
def tag_edit(request, slug, tag_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    tag = get_object_or_404(Tag, pk=tag_id, campaign=campaign)
    form = TagForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("order-tags", slug)
    try:
        tags.rename_tag(tag=tag, **form.cleaned_data)
    except OrdersError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"Tag “{tag.name}” saved.")
    return redirect("order-tags", slug)


@login_required
@require_POST
def tag_delete(request, slug, tag_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    tag = get_object_or_404(Tag, pk=tag_id, campaign=campaign)
    name = tag.name
    count = tags.delete_tag(tag=tag, actor=request.user)
    messages.success(request, f"Tag “{name}” deleted (it was on {count} order(s)).")
    return redirect("order-tags", slug)


# --- segments --------------------------------------------------------------------------


@login_required
def segment_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_METHODS:
        return HttpResponseNotAllowed(READ_METHODS)
    rows = list(Segment.objects.filter(campaign=campaign).select_related("created_by"))
    tag_names = dict(Tag.objects.filter(campaign=campaign).values_list("pk", "name"))
    reward_names = dict(campaign.rewards.values_list("pk", "title"))
    for segment in rows:
        segment.query = filters_query(segment.filters).urlencode()
        segment.summary = _describe(segment.filters, tag_names, reward_names)
    context = orders_context(campaign, role, "order-segments")
    context.update(segments=rows)
    return render(request, "orders/orders/segments.html", context)


def _describe(filters: dict, tag_names: dict, reward_names: dict) -> list[str]:
    """A segment's filters in words, for the segments page."""
    labels = {
        "q": "search",
        "country": "country",
        "reward": "reward",
        "addon_sku": "add-on SKU",
        "hold": "open hold",
        "state": "state",
        "tags": "tags",
        "exported": "exported",
        "paid": "paid",
        "address": "address",
    }
    parts = []
    for key, value in filters.items():
        if key == "tags":
            value = ", ".join(tag_names.get(int(v), "?") for v in value if str(v).isdigit())
        elif key == "reward":
            value = reward_names.get(int(value), "?") if str(value).isdigit() else "?"
        elif key == "hold":
            value = HoldReason(value).label if value in HoldReason.values else value
        elif isinstance(value, list):
            value = ", ".join(value)
        parts.append(f"{labels.get(key, key)}: {value}")
    return parts


@login_required
@require_POST
def segment_create(request, slug):
    """Save the list's current filters (posted along) as a named segment."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    filter_form = OrderFilterForm(request.POST, campaign=campaign)
    form = SegmentForm(request.POST)
    filters = filter_form.filters()
    fallback = f"{reverse('order-list', args=[slug])}?{filters_query(filters).urlencode()}"
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(fallback)
    name = form.cleaned_data["name"]
    before = (
        Segment.objects.filter(campaign=campaign, name__iexact=" ".join(name.split()))
        .values_list("filters", flat=True)
        .first()
    )
    try:
        segment = segments.save_segment(
            campaign=campaign, name=name, filters=filters, actor=request.user
        )
    except OrdersError as exc:
        _refused(request, exc)
    else:
        if before is not None and before != segment.filters:
            # Saving under a name in use updates that segment: say so, it was not new.
            messages.warning(
                request,
                f"Segment “{segment.name}” existed: its filters were replaced by this list's "
                "(the ones it had are gone).",
            )
        else:
            messages.success(request, f"Segment “{segment.name}” saved.")
    return HttpResponseRedirect(fallback)


@login_required
@require_POST
def segment_delete(request, slug, segment_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    segment = get_object_or_404(Segment, pk=segment_id, campaign=campaign)
    name = segment.name
    segments.delete_segment(segment=segment)
    messages.success(request, f"Segment “{name}” deleted.")
    return redirect("order-segments", slug)

"""Reward composition pages: the reward map, the composition editor (items,
choice groups and their options, copying), choice groups of add-on offers,
regional editions and stretch goals.

Every page reads with `catalog.view`; every change needs `catalog.change`, goes
through pledges.services.catalog and is refused while the SKU map is locked.
Editor forms post to their own URL, then redirect back (or, for htmx, answer
with the re-rendered editor); a refused form comes back with its errors."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from inventory.models import Sku
from inventory.navigation import catalog_context
from surveys.models import AddOnOffer, AddOnOfferItem

from ..catalog_forms import (
    COUNTRY_PRESETS,
    AddItemsForm,
    ChoiceGroupForm,
    ChoiceGroupFromSkusForm,
    ChoiceOptionForm,
    CopyCompositionForm,
    ItemQuantityForm,
    RegionalRuleForm,
    StretchGoalForm,
    sku_choices,
)
from ..errors import PledgesError
from ..models import (
    ChoiceGroup,
    ChoiceOption,
    PaymentStatus,
    Pledge,
    RegionalRule,
    Reward,
    RewardItem,
    StretchGoal,
)
from ..selectors import campaign_for
from ..services import catalog as services
from ..services.catalog import CatalogRefused
from ..services.sku_map import ensure_sku_map_editable

VIEW, CHANGE = "catalog.view", "catalog.change"


def _org_skus(campaign):
    return Sku.objects.filter(organization_id=campaign.organization_id).order_by("code")


def _groups_prefetch() -> Prefetch:
    options = ChoiceOption.objects.select_related("sku").order_by("position", "pk")
    return Prefetch(
        "choice_groups",
        queryset=ChoiceGroup.objects.prefetch_related(Prefetch("options", queryset=options)),
    )


def _items_prefetch(name: str = "items", model=RewardItem) -> Prefetch:
    return Prefetch(name, queryset=model.objects.select_related("sku").order_by("pk"))


def group_summary(group: ChoiceGroup) -> str:
    options = group.options.all()
    repeats = ", repeats allowed" if group.allow_repeats else ""
    return f"{group.name}: pick {group.picks} of {len(options)}{repeats}"


def group_warnings(group: ChoiceGroup) -> list[str]:
    """What keeps a choice group from shipping: no options, too few, no default."""
    options = group.options.all()
    if not options:
        return [f"“{group.name}” has no options yet."]
    warnings = []
    if not group.allow_repeats and len(options) < group.picks:
        warnings.append(
            f"“{group.name}” asks for {group.picks} different picks but has "
            f"{len(options)} option{'s' if len(options) != 1 else ''}."
        )
    defaults = sum(1 for option in options if option.is_default)
    # The map check's rule: every pick needs a default, unless repeats let one fill them all.
    needed = 1 if group.allow_repeats else group.picks
    if defaults < needed:
        have = f"{defaults} default{'s' if defaults != 1 else ''}" if defaults else "no default"
        warnings.append(
            f"“{group.name}” has {have} for {group.picks} pick{'s' if group.picks != 1 else ''} "
            "(what ships if the backer never chooses)."
        )
    return warnings


def composition_summary(items, groups) -> str:
    """One line per composition, like “2 × CORE-BOX, Colour: pick 1 of 3”."""
    parts = [f"{item.quantity} × {item.sku.code}" for item in items]
    parts += [group_summary(group) for group in groups]
    return ", ".join(parts)


# --- reward map ---------------------------------------------------------------------


@login_required
def reward_map(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    rewards = list(
        campaign.rewards.annotate(
            collected=Count("pledges", filter=Q(pledges__payment_status=PaymentStatus.COLLECTED))
        )
        .prefetch_related(_items_prefetch(), _groups_prefetch())
        .order_by("minimum", "title")
    )
    top = max((r.collected for r in rewards), default=0) or 1
    for reward in rewards:
        items, groups = reward.items.all(), reward.choice_groups.all()
        reward.summary = composition_summary(items, groups)
        reward.mapped = bool(items) or bool(groups)
        reward.warnings = [w for group in groups for w in group_warnings(group)]
        reward.share = round(100 * reward.collected / top)
    offers = list(
        campaign.addon_offers.prefetch_related(
            _items_prefetch("items", AddOnOfferItem), _groups_prefetch()
        ).order_by("position", "name")
    )
    for offer in offers:
        offer.summary = composition_summary(offer.items.all(), [])
        groups = offer.choice_groups.all()
        offer.choices = ", ".join(group_summary(group) for group in groups)
        offer.warnings = [w for group in groups for w in group_warnings(group)]
    context = catalog_context(campaign, role, active="reward-map")
    context.update(
        rewards=rewards,
        offers=offers,
        mapped_count=sum(1 for r in rewards if r.mapped),
        unmapped_collected=sum(r.collected for r in rewards if not r.mapped),
        can_change=role_can(role, CHANGE),
    )
    return render(request, "pledges/catalog/reward_map.html", context)


# --- the composition editor (a reward, or an add-on offer's choices) ----------------


@dataclass
class Editor:
    """One editor page: whose composition (a reward or an add-on offer) and for whom."""

    request: object
    campaign: object
    role: str
    reward: Reward | None = None
    offer: AddOnOffer | None = None

    @property
    def url(self) -> str:
        if self.reward is not None:
            return reverse("reward-compose", args=[self.campaign.slug, self.reward.pk])
        return reverse("addon-choices", args=[self.campaign.slug, self.offer.pk])

    @property
    def owner(self) -> dict:
        return {"reward": self.reward} if self.reward is not None else {"addon_offer": self.offer}

    def page(self, forms: dict | None = None, *, status: int = 200) -> HttpResponse:
        context = self.context(forms or {})
        if self.request.htmx:
            # htmx swaps only 2xx answers: errors come back as 200 with the form marked.
            return render(
                self.request, "pledges/catalog/_composition.html", {**context, "partial": True}
            )
        template = "compose.html" if self.reward is not None else "addon_choices.html"
        return render(self.request, f"pledges/catalog/{template}", context, status=status)

    def done(self, message: str, anchor: str = "") -> HttpResponse:
        messages.success(self.request, message)
        if self.request.htmx:
            return self.page()
        return redirect(self.url + (f"#{anchor}" if anchor else ""))

    def refused(self, message: str) -> HttpResponse:
        messages.error(self.request, message)
        if self.request.htmx:
            return self.page()
        return redirect(self.url)

    def invalid(self, key: str, form) -> HttpResponse:
        messages.error(self.request, "Not saved: see the marked field below.")
        return self.page({key: form}, status=400)

    def locked(self) -> HttpResponse | None:
        """The lock message when the map is locked: checked before reading any input."""
        try:
            ensure_sku_map_editable(campaign=self.campaign)
        except PledgesError as error:
            return self.refused(error.message)
        return None

    def run(self, key: str, form, action: Callable[[], str], anchor: str = "") -> HttpResponse:
        """Validate `form`, call `action` (a service call returning the success
        message) and answer; a refusal about one field goes next to it."""
        if not form.is_valid():
            return self.invalid(key, form)
        try:
            message = action()
        except CatalogRefused as error:
            if error.field and error.field in form.fields:
                form.add_error(error.field, error.message)
                return self.invalid(key, form)
            return self.refused(error.message)
        except PledgesError as error:
            return self.refused(error.message)
        return self.done(message, anchor)

    def sku_kwargs(self) -> dict:
        if not hasattr(self, "_skus"):
            self._skus = list(_org_skus(self.campaign))
        return {"skus": _org_skus(self.campaign), "sku_choices": sku_choices(self._skus)}

    def other_rewards(self):
        return self.campaign.rewards.exclude(pk=self.reward.pk).order_by("minimum", "title")

    def context(self, forms: dict) -> dict:
        campaign, role = self.campaign, self.role
        can_change = role_can(role, CHANGE)
        editable = can_change and campaign.sku_map_locked_at is None
        groups = list(
            ChoiceGroup.objects.filter(campaign=campaign, **self.owner)
            .prefetch_related(
                Prefetch(
                    "options",
                    queryset=ChoiceOption.objects.select_related("sku").order_by("position", "pk"),
                )
            )
            .order_by("position", "pk")
        )
        if self.reward is not None:
            items = list(self.reward.items.select_related("sku").order_by("pk"))
        else:
            items = list(self.offer.items.select_related("sku").order_by("pk"))
        context = catalog_context(
            campaign, role, active="reward-map" if self.reward is not None else "addon-list"
        )
        context.update(
            reward=self.reward,
            offer=self.offer,
            items=items,
            groups=groups,
            summary=composition_summary(items, groups),
            can_change=can_change,
            editable=editable,
        )
        for group in groups:
            group.summary = group_summary(group)
            group.warnings = group_warnings(group)
        if not editable:
            return context
        sku_kwargs = self.sku_kwargs()
        for item in items:
            item.form = forms.get(f"item:{item.pk}") or ItemQuantityForm(
                prefix=f"item{item.pk}", initial={"quantity": item.quantity}
            )
        for group in groups:
            group.form = forms.get(f"group:{group.pk}") or ChoiceGroupForm(
                prefix=f"group{group.pk}",
                initial={
                    "name": group.name,
                    "picks": group.picks,
                    "allow_repeats": group.allow_repeats,
                },
            )
            group.option_form = forms.get(f"option_new:{group.pk}") or ChoiceOptionForm(
                prefix=f"newopt{group.pk}", **sku_kwargs
            )
            for option in group.options.all():
                option.form = forms.get(f"option:{option.pk}") or ChoiceOptionForm(
                    prefix=f"opt{option.pk}",
                    initial={
                        "label": option.label,
                        "sku": option.sku_id,
                        "quantity": option.quantity,
                        "is_default": option.is_default,
                    },
                    **sku_kwargs,
                )
        if self.reward is not None:
            urls = ("reward-choice-group-create", "reward-choice-group-from-skus", self.reward.pk)
        else:
            urls = ("addon-choice-group-create", "addon-choice-group-from-skus", self.offer.pk)
        context.update(
            group_create_url=reverse(urls[0], args=[campaign.slug, urls[2]]),
            group_from_skus_url=reverse(urls[1], args=[campaign.slug, urls[2]]),
            group_form=forms.get("group_new") or ChoiceGroupForm(prefix="newgroup"),
            from_skus_form=forms.get("group_from_skus")
            or ChoiceGroupFromSkusForm(prefix="fromskus", **sku_kwargs),
            has_skus=bool(self._skus),
        )
        if self.reward is not None:
            other_rewards = list(self.other_rewards())
            copy_form = forms.get("copy") or CopyCompositionForm(
                prefix="copy", rewards=self.other_rewards()
            )
            # The select shows the rewards read here instead of querying again.
            copy_form.fields["source"].widget.choices = [
                ("", copy_form.fields["source"].empty_label),
                *((r.pk, copy_form.fields["source"].label_from_instance(r)) for r in other_rewards),
            ]
            context.update(
                add_form=forms.get("items_add") or AddItemsForm(prefix="add", **sku_kwargs),
                copy_form=copy_form,
                has_other_rewards=bool(other_rewards),
            )
        return context


def _reward_editor(request, slug, reward_id, action) -> Editor:
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    reward = get_object_or_404(Reward, pk=reward_id, campaign=campaign)
    return Editor(request, campaign, role, reward=reward)


def _offer_editor(request, slug, offer_id, action) -> Editor:
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    offer = get_object_or_404(AddOnOffer, pk=offer_id, campaign=campaign)
    return Editor(request, campaign, role, offer=offer)


def _group_editor(request, slug, group_id) -> tuple[Editor, ChoiceGroup]:
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    group = get_object_or_404(
        ChoiceGroup.objects.select_related("reward", "addon_offer"), pk=group_id, campaign=campaign
    )
    return Editor(request, campaign, role, reward=group.reward, offer=group.addon_offer), group


def _option(group: ChoiceGroup, option_id: int) -> ChoiceOption:
    option = get_object_or_404(
        ChoiceOption.objects.select_related("sku"), pk=option_id, group=group
    )
    option.group = group
    return option


@login_required
def reward_compose(request, slug, reward_id):
    return _reward_editor(request, slug, reward_id, VIEW).page()


@login_required
def addon_choices(request, slug, offer_id):
    return _offer_editor(request, slug, offer_id, VIEW).page()


@login_required
@require_POST
def reward_item_add(request, slug, reward_id):
    editor = _reward_editor(request, slug, reward_id, CHANGE)
    if refused := editor.locked():
        return refused
    form = AddItemsForm(request.POST, prefix="add", **editor.sku_kwargs())

    def add():
        result = services.add_reward_items(
            campaign=editor.campaign, reward=editor.reward, skus=list(form.cleaned_data["skus"])
        )
        parts = []
        if result.added:
            parts.append("added " + ", ".join(item.sku.code for item in result.added))
        if result.increased:
            parts.append(
                "one more of "
                + ", ".join(f"{item.sku.code} (now {item.quantity})" for item in result.increased)
            )
        message = "; ".join(parts) + "."
        return message[:1].upper() + message[1:]

    return editor.run("items_add", form, add, anchor="items")


@login_required
@require_POST
def reward_item_update(request, slug, reward_id, item_id):
    editor = _reward_editor(request, slug, reward_id, CHANGE)
    item = get_object_or_404(
        RewardItem.objects.select_related("sku", "reward"), pk=item_id, reward=editor.reward
    )
    if refused := editor.locked():
        return refused
    form = ItemQuantityForm(request.POST, prefix=f"item{item.pk}")

    def update():
        services.update_reward_item(
            campaign=editor.campaign, item=item, quantity=form.cleaned_data["quantity"]
        )
        return f"{item.sku.code}: {item.quantity} per reward."

    return editor.run(f"item:{item.pk}", form, update, anchor="items")


@login_required
@require_POST
def reward_item_delete(request, slug, reward_id, item_id):
    editor = _reward_editor(request, slug, reward_id, CHANGE)
    item = get_object_or_404(
        RewardItem.objects.select_related("sku", "reward"), pk=item_id, reward=editor.reward
    )
    if refused := editor.locked():
        return refused
    try:
        services.remove_reward_item(campaign=editor.campaign, item=item)
    except PledgesError as error:
        return editor.refused(error.message)
    return editor.done(f"Removed {item.sku.code} from “{editor.reward.title}”.", "items")


@login_required
@require_POST
def reward_copy(request, slug, reward_id):
    editor = _reward_editor(request, slug, reward_id, CHANGE)
    if refused := editor.locked():
        return refused
    form = CopyCompositionForm(request.POST, prefix="copy", rewards=editor.other_rewards())

    def copy():
        source = form.cleaned_data["source"]
        result = services.copy_composition(
            campaign=editor.campaign,
            source=source,
            target=editor.reward,
            replace=form.cleaned_data["replace"],
        )
        return (
            f"Copied {result.items} item{'s' if result.items != 1 else ''} and "
            f"{result.groups} choice group{'s' if result.groups != 1 else ''} "
            f"from “{source.title}”."
        )

    return editor.run("copy", form, copy)


def _group_create(editor: Editor) -> HttpResponse:
    if refused := editor.locked():
        return refused
    form = ChoiceGroupForm(editor.request.POST, prefix="newgroup")

    def create():
        group = services.create_choice_group(
            campaign=editor.campaign, **editor.owner, **form.cleaned_data
        )
        return f"Choice “{group.name}” created: now add its options."

    return editor.run("group_new", form, create, anchor="choices")


def _group_from_skus(editor: Editor) -> HttpResponse:
    if refused := editor.locked():
        return refused
    form = ChoiceGroupFromSkusForm(editor.request.POST, prefix="fromskus", **editor.sku_kwargs())

    def create():
        data = form.cleaned_data
        group = services.create_choice_group_from_skus(
            campaign=editor.campaign,
            **editor.owner,
            name=data["name"],
            picks=data["picks"],
            allow_repeats=data["allow_repeats"],
            skus=list(data["skus"]),
        )
        return (
            f"Choice “{group.name}” created with {group.options.count()} options: "
            "mark the one that ships by default."
        )

    return editor.run("group_from_skus", form, create, anchor="choices")


@login_required
@require_POST
def reward_choice_group_create(request, slug, reward_id):
    return _group_create(_reward_editor(request, slug, reward_id, CHANGE))


@login_required
@require_POST
def reward_choice_group_from_skus(request, slug, reward_id):
    return _group_from_skus(_reward_editor(request, slug, reward_id, CHANGE))


@login_required
@require_POST
def addon_choice_group_create(request, slug, offer_id):
    return _group_create(_offer_editor(request, slug, offer_id, CHANGE))


@login_required
@require_POST
def addon_choice_group_from_skus(request, slug, offer_id):
    return _group_from_skus(_offer_editor(request, slug, offer_id, CHANGE))


@login_required
@require_POST
def choice_group_update(request, slug, group_id):
    editor, group = _group_editor(request, slug, group_id)
    if refused := editor.locked():
        return refused
    form = ChoiceGroupForm(request.POST, prefix=f"group{group.pk}")

    def update():
        services.update_choice_group(campaign=editor.campaign, group=group, **form.cleaned_data)
        return f"Choice “{group.name}” saved."

    return editor.run(f"group:{group.pk}", form, update, anchor=f"group-{group.pk}")


@login_required
@require_POST
def choice_group_delete(request, slug, group_id):
    editor, group = _group_editor(request, slug, group_id)
    if refused := editor.locked():
        return refused
    try:
        services.delete_choice_group(campaign=editor.campaign, group=group)
    except PledgesError as error:
        return editor.refused(error.message)
    return editor.done(f"Choice “{group.name}” deleted with its options.", "choices")


@login_required
@require_POST
def choice_option_add(request, slug, group_id):
    editor, group = _group_editor(request, slug, group_id)
    if refused := editor.locked():
        return refused
    form = ChoiceOptionForm(request.POST, prefix=f"newopt{group.pk}", **editor.sku_kwargs())

    def add():
        option = services.add_choice_option(
            campaign=editor.campaign, group=group, **form.cleaned_data
        )
        return f"Option “{option.label}” added to “{group.name}”."

    return editor.run(f"option_new:{group.pk}", form, add, anchor=f"group-{group.pk}")


@login_required
@require_POST
def choice_option_update(request, slug, group_id, option_id):
    editor, group = _group_editor(request, slug, group_id)
    option = _option(group, option_id)
    if refused := editor.locked():
        return refused
    form = ChoiceOptionForm(request.POST, prefix=f"opt{option.pk}", **editor.sku_kwargs())

    def update():
        services.update_choice_option(campaign=editor.campaign, option=option, **form.cleaned_data)
        return f"Option “{option.label}” saved."

    return editor.run(f"option:{option.pk}", form, update, anchor=f"group-{group.pk}")


@login_required
@require_POST
def choice_option_default(request, slug, group_id, option_id):
    editor, group = _group_editor(request, slug, group_id)
    option = _option(group, option_id)
    if refused := editor.locked():
        return refused
    try:
        services.make_option_default(campaign=editor.campaign, option=option)
    except PledgesError as error:
        return editor.refused(error.message)
    return editor.done(
        f"“{option.label}” now ships when a backer never chooses “{group.name}”.",
        f"group-{group.pk}",
    )


@login_required
@require_POST
def choice_option_delete(request, slug, group_id, option_id):
    editor, group = _group_editor(request, slug, group_id)
    option = _option(group, option_id)
    if refused := editor.locked():
        return refused
    try:
        services.delete_choice_option(campaign=editor.campaign, option=option)
    except PledgesError as error:
        return editor.refused(error.message)
    return editor.done(f"Option “{option.label}” removed.", f"group-{group.pk}")


# --- regional editions --------------------------------------------------------------


def _collected(campaign):
    return Pledge.objects.filter(backer__campaign=campaign, payment_status=PaymentStatus.COLLECTED)


def _touched_by(campaign, sku_ids: set[int]) -> dict[int, dict[str, list[str]]]:
    """For each SKU: the rewards and add-on offers that contain it (as an item or
    as a choice option), in three queries whatever the number of rules."""
    touched: dict[int, dict[str, dict]] = {pk: {"rewards": {}, "offers": {}} for pk in sku_ids}
    if not sku_ids:
        return {}
    for sku_id, title in RewardItem.objects.filter(
        reward__campaign=campaign, sku_id__in=sku_ids
    ).values_list("sku_id", "reward__title"):
        touched[sku_id]["rewards"][title] = title
    for sku_id, reward_title, offer_name in ChoiceOption.objects.filter(
        group__campaign=campaign, sku_id__in=sku_ids
    ).values_list("sku_id", "group__reward__title", "group__addon_offer__name"):
        if reward_title:
            touched[sku_id]["rewards"].setdefault(reward_title, f"{reward_title} (as a choice)")
        else:
            touched[sku_id]["offers"].setdefault(offer_name, f"{offer_name} (as a choice)")
    for sku_id, name in AddOnOfferItem.objects.filter(
        offer__campaign=campaign, sku_id__in=sku_ids
    ).values_list("sku_id", "offer__name"):
        touched[sku_id]["offers"][name] = name
    return {
        pk: {kind: sorted(found.values()) for kind, found in kinds.items()}
        for pk, kinds in touched.items()
    }


@login_required
def regional_rule_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    rules = list(
        RegionalRule.objects.filter(campaign=campaign)
        .select_related("from_sku", "to_sku")
        .order_by("position", "pk")
    )
    touched = _touched_by(campaign, {rule.from_sku_id for rule in rules})
    counts = {}
    if rules:
        counts = _collected(campaign).aggregate(
            total=Count("pk"),
            **{
                f"r{rule.pk}": Count(
                    "pk", filter=Q(shipping_country__in=[c.code for c in rule.countries])
                )
                for rule in rules
            },
        )
    total = counts.get("total") or 0
    for rule in rules:
        rule.touches = touched.get(rule.from_sku_id, {"rewards": [], "offers": []})
        rule.pledges = counts.get(f"r{rule.pk}", 0)
        rule.share = round(100 * rule.pledges / total) if total else 0
    context = catalog_context(campaign, role, active="regional-rule-list")
    context.update(
        rules=rules, total=total, can_change=role_can(role, CHANGE), presets=COUNTRY_PRESETS
    )
    return render(request, "pledges/catalog/regional_rule_list.html", context)


def _rule_form_page(request, campaign, role, form, rule=None, status=200):
    context = catalog_context(campaign, role, active="regional-rule-list")
    locked = campaign.sku_map_locked_at is not None
    if locked:
        for field in form.fields.values():
            field.disabled = True
    context.update(form=form, rule=rule, locked=locked)
    return render(request, "pledges/catalog/regional_rule_form.html", context, status=status)


def _save_rule(request, campaign, role, form, rule=None):
    """Shared POST path of create and edit: lock first, then the form, then the service."""
    try:
        ensure_sku_map_editable(campaign=campaign)
    except PledgesError as error:
        messages.error(request, error.message)
        return redirect("regional-rule-list", campaign.slug)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "presets"}
        try:
            if rule is None:
                rule = services.create_regional_rule(campaign=campaign, **data)
            else:
                rule = services.update_regional_rule(campaign=campaign, rule=rule, **data)
        except CatalogRefused as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except PledgesError as error:
            messages.error(request, error.message)
            return redirect("regional-rule-list", campaign.slug)
        else:
            messages.success(
                request,
                f"“{rule.name}”: {rule.to_sku.code} ships instead of {rule.from_sku.code} "
                f"to {len(rule.countries)} countr{'ies' if len(rule.countries) != 1 else 'y'}.",
            )
            return redirect("regional-rule-list", campaign.slug)
    return _rule_form_page(request, campaign, role, form, rule, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def regional_rule_create(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    skus = _org_skus(campaign)
    if request.method == "POST":
        return _save_rule(request, campaign, role, RegionalRuleForm(request.POST, skus=skus))
    return _rule_form_page(request, campaign, role, RegionalRuleForm(skus=skus))


@login_required
@require_http_methods(["GET", "POST"])
def regional_rule_edit(request, slug, rule_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    rule = get_object_or_404(RegionalRule, pk=rule_id, campaign=campaign)
    skus = _org_skus(campaign)
    if request.method == "POST":
        return _save_rule(request, campaign, role, RegionalRuleForm(request.POST, skus=skus), rule)
    form = RegionalRuleForm(
        skus=skus,
        initial={
            "name": rule.name,
            "countries": [c.code for c in rule.countries],
            "from_sku": rule.from_sku_id,
            "to_sku": rule.to_sku_id,
            "backer_can_override": rule.backer_can_override,
        },
    )
    return _rule_form_page(request, campaign, role, form, rule)


@login_required
@require_POST
def regional_rule_delete(request, slug, rule_id):
    campaign, _ = campaign_for(user=request.user, slug=slug, action=CHANGE)
    rule = get_object_or_404(RegionalRule, pk=rule_id, campaign=campaign)
    try:
        services.delete_regional_rule(campaign=campaign, rule=rule)
    except PledgesError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Regional rule “{rule.name}” deleted.")
    return redirect("regional-rule-list", campaign.slug)


# --- stretch goals ------------------------------------------------------------------


def _goal_filter(goal: StretchGoal) -> Q:
    condition = Q()
    if goal.from_reward_id:
        condition &= Q(reward__minimum__gte=goal.from_reward.minimum.amount)
    if goal.pledged_before:
        condition &= Q(pledged_at__lt=goal.pledged_before)
    return condition


@login_required
def stretch_goal_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    goals = list(
        StretchGoal.objects.filter(campaign=campaign)
        .select_related("sku", "from_reward")
        .order_by("position", "pk")
    )
    counts = {}
    if goals:
        # One aggregate for every goal: a filtered count each, over collected
        # pledges that have a reward (pledges without one get no stretch goals).
        counts = (
            _collected(campaign)
            .filter(reward__isnull=False)
            .aggregate(
                total=Count("pk"),
                **{f"g{goal.pk}": Count("pk", filter=_goal_filter(goal)) for goal in goals},
            )
        )
    total = counts.get("total") or 0
    for goal in goals:
        goal.pledges = counts.get(f"g{goal.pk}", 0)
        goal.share = round(100 * goal.pledges / total) if total else 0
    context = catalog_context(campaign, role, active="stretch-goal-list")
    context.update(goals=goals, total=total, can_change=role_can(role, CHANGE))
    return render(request, "pledges/catalog/stretch_goal_list.html", context)


def _goal_form_page(request, campaign, role, form, goal=None, status=200):
    context = catalog_context(campaign, role, active="stretch-goal-list")
    locked = campaign.sku_map_locked_at is not None
    if locked:
        for field in form.fields.values():
            field.disabled = True
    context.update(form=form, goal=goal, locked=locked)
    return render(request, "pledges/catalog/stretch_goal_form.html", context, status=status)


def _save_goal(request, campaign, role, form, goal=None):
    try:
        ensure_sku_map_editable(campaign=campaign)
    except PledgesError as error:
        messages.error(request, error.message)
        return redirect("stretch-goal-list", campaign.slug)
    if form.is_valid():
        try:
            if goal is None:
                goal = services.create_stretch_goal(campaign=campaign, **form.cleaned_data)
            else:
                goal = services.update_stretch_goal(
                    campaign=campaign, goal=goal, **form.cleaned_data
                )
        except CatalogRefused as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except PledgesError as error:
            messages.error(request, error.message)
            return redirect("stretch-goal-list", campaign.slug)
        else:
            messages.success(request, f"Stretch goal “{goal.name}” saved.")
            return redirect("stretch-goal-list", campaign.slug)
    return _goal_form_page(request, campaign, role, form, goal, status=400)


def _rewards(campaign):
    return campaign.rewards.order_by("minimum", "title")


@login_required
@require_http_methods(["GET", "POST"])
def stretch_goal_create(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    kwargs = {"skus": _org_skus(campaign), "rewards": _rewards(campaign)}
    if request.method == "POST":
        return _save_goal(request, campaign, role, StretchGoalForm(request.POST, **kwargs))
    return _goal_form_page(request, campaign, role, StretchGoalForm(**kwargs))


@login_required
@require_http_methods(["GET", "POST"])
def stretch_goal_edit(request, slug, goal_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    goal = get_object_or_404(StretchGoal, pk=goal_id, campaign=campaign)
    kwargs = {"skus": _org_skus(campaign), "rewards": _rewards(campaign)}
    if request.method == "POST":
        return _save_goal(request, campaign, role, StretchGoalForm(request.POST, **kwargs), goal)
    form = StretchGoalForm(
        initial={
            "name": goal.name,
            "sku": goal.sku_id,
            "quantity": goal.quantity,
            "from_reward": goal.from_reward_id,
            "pledged_before": goal.pledged_before,
        },
        **kwargs,
    )
    return _goal_form_page(request, campaign, role, form, goal)


@login_required
@require_POST
def stretch_goal_delete(request, slug, goal_id):
    campaign, _ = campaign_for(user=request.user, slug=slug, action=CHANGE)
    goal = get_object_or_404(StretchGoal, pk=goal_id, campaign=campaign)
    try:
        services.delete_stretch_goal(campaign=campaign, goal=goal)
    except PledgesError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Stretch goal “{goal.name}” deleted.")
    return redirect("stretch-goal-list", campaign.slug)

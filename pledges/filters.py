"""Filters over a campaign's backers, shared by the back-office list and its CSV download."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django_countries import countries

from .models import (
    Backer,
    BackerSource,
    Campaign,
    DuplicateStatus,
    PaymentStatus,
    Platform,
    Pledge,
)

# Backer numbers are small; longer digit strings are ids of the platform, and an
# int past SQLite's 64 bits would fail the query instead of matching nothing.
MAX_BACKER_NUMBER_DIGITS = 9
PLEDGE_FILTERS = ("reward", "payment_status", "country")


class BackerFilter(django_filters.FilterSet):
    # Pledge conditions filter through the reverse relation: one backer has at
    # most one pledge (unique constraint), so the join never repeats a backer.
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.SearchInput(attrs={"placeholder": "Name, email or backer number"}),
    )
    reward = django_filters.ModelChoiceFilter(
        field_name="pledges__reward", queryset=None, empty_label="All rewards", label="Reward"
    )
    payment_status = django_filters.ChoiceFilter(
        field_name="pledges__payment_status",
        choices=PaymentStatus.choices,
        empty_label="Any payment",
        label="Payment",
    )
    country = django_filters.ChoiceFilter(
        field_name="pledges__shipping_country",
        choices=[],
        empty_label="All countries",
        label="Country",
    )
    source = django_filters.ChoiceFilter(
        choices=BackerSource.choices, empty_label="Any source", label="Source"
    )
    platform = django_filters.ChoiceFilter(
        choices=Platform.choices, empty_label="All platforms", label="Platform"
    )
    duplicate = django_filters.ChoiceFilter(
        method="filter_duplicate",
        choices=[("yes", "Possible duplicate"), ("no", "No open duplicate")],
        empty_label="Duplicates: any",
        label="Duplicates",
    )

    class Meta:
        model = Backer
        fields: list[str] = []

    def __init__(self, data=None, *, campaign: Campaign, **kwargs):
        super().__init__(data, queryset=Backer.objects.filter(campaign=campaign), **kwargs)
        self.filters["reward"].queryset = campaign.rewards.order_by("minimum", "title")
        codes = (
            Pledge.objects.filter(backer__campaign=campaign)
            .exclude(shipping_country="")
            .values_list("shipping_country", flat=True)
            .distinct()
            .order_by()
        )
        self.filters["country"].extra["choices"] = sorted(
            ((code, countries.name(code) or code) for code in codes), key=lambda c: c[1]
        )

    def filter_queryset(self, queryset: QuerySet[Backer]) -> QuerySet[Backer]:
        # The pledge conditions go into one filter() call: each call across a reverse
        # relation joins the pledge table again, and the CSV reads pledge fields too.
        data = self.form.cleaned_data
        pledge = {
            self.filters[name].field_name: data[name]
            for name in PLEDGE_FILTERS
            if data.get(name) not in (None, "")
        }
        if pledge:
            queryset = queryset.filter(**pledge)
        for name, value in data.items():
            if name not in PLEDGE_FILTERS:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def search(self, queryset: QuerySet[Backer], name: str, value: str) -> QuerySet[Backer]:
        text = value.strip()
        if not text:
            return queryset
        match = (
            Q(name__icontains=text)
            | Q(email_normalized__icontains=text.lower())
            | Q(platform_backer_id=text)
        )
        number = text.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) <= MAX_BACKER_NUMBER_DIGITS:
            match |= Q(backer_number=int(number))
        return queryset.filter(match)

    def filter_duplicate(self, queryset: QuerySet[Backer], name: str, value: str):
        open_group = Q(duplicate_group__status=DuplicateStatus.OPEN)
        if value == "yes":
            return queryset.filter(open_group)
        if value == "no":
            return queryset.exclude(open_group)
        return queryset

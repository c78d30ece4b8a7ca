from django.db import IntegrityError, transaction

from accounts.models import Organization

from ..errors import SlugTaken
from ..models import Campaign

CAMPAIGN_FIELDS = {
    "name",
    "slug",
    "platform",
    "currency",
    "closed_on",
    "survey_lock_at",
    "logo",
    "primary_colour",
    "accent_colour",
    "intro_text",
    "sender_name",
    "sender_email",
}


def create_campaign(*, organization: Organization, actor, **fields) -> Campaign:
    """Create a campaign in `organization`; the slug must be free across Pledgeport
    (it names the survey URL)."""
    unknown = set(fields) - CAMPAIGN_FIELDS
    if unknown:
        raise TypeError(f"Unknown campaign fields: {sorted(unknown)}")
    try:
        with transaction.atomic():
            campaign = Campaign(organization=organization, **fields)
            campaign.full_clean()
            campaign.save()
    except IntegrityError as exc:
        raise SlugTaken(f"The address “{fields.get('slug')}” is taken; choose another.") from exc
    return campaign


def update_campaign(*, campaign: Campaign, actor, **fields) -> Campaign:
    """Change a campaign's settings and branding."""
    unknown = set(fields) - CAMPAIGN_FIELDS
    if unknown:
        raise TypeError(f"Unknown campaign fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(campaign, name, value)
    try:
        with transaction.atomic():
            campaign.full_clean()
            campaign.save()
    except IntegrityError as exc:
        raise SlugTaken(f"The address “{fields.get('slug')}” is taken; choose another.") from exc
    return campaign

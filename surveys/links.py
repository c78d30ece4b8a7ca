"""Magic links: a backer opens their survey with a signed, expiring link, no password.

The signature is the proof; the invite row says which backer it is for and
its `token_version` voids every older link when bumped. Unsubscribe links are
signed apart and never expire (the law wants one-click opt-out to keep working).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .errors import LinkExpired, LinkInvalid
from .models import Survey, SurveyInvite

_INVITE_SALT = "pledgeport.surveys.invite"
_UNSUBSCRIBE_SALT = "pledgeport.surveys.unsubscribe"


def invite_token(invite: SurveyInvite) -> str:
    return signing.dumps([invite.pk, invite.token_version], salt=_INVITE_SALT, compress=True)


def invite_from_token(token: str, *, survey: Survey) -> SurveyInvite:
    """The invite a link opens, or LinkInvalid (tampered, voided, other campaign) /
    LinkExpired (older than the survey's link lifetime)."""
    max_age = survey.link_max_age_days * 24 * 3600
    try:
        invite_id, version = signing.loads(token, salt=_INVITE_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired(_("This survey link has expired.")) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkInvalid(_("This survey link is not valid.")) from exc
    invite = (
        SurveyInvite.objects.select_related("backer", "survey")
        .filter(pk=invite_id, survey=survey, token_version=version)
        .first()
    )
    if invite is None:
        raise LinkInvalid(_("This survey link is not valid."))
    return invite


def unsubscribe_token(invite: SurveyInvite) -> str:
    return signing.dumps(invite.pk, salt=_UNSUBSCRIBE_SALT)


def invite_from_unsubscribe_token(token: str, *, survey: Survey) -> SurveyInvite:
    try:
        invite_id = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise LinkInvalid(_("This link is not valid.")) from exc
    invite = SurveyInvite.objects.filter(pk=invite_id, survey=survey).first()
    if invite is None:
        raise LinkInvalid(_("This link is not valid."))
    return invite


def survey_root(survey: Survey) -> str:
    """Absolute address of the survey's home: its own host name, else /s/<slug>/."""
    if survey.host_name:
        scheme = "http" if settings.DEBUG else "https"
        return f"{scheme}://{survey.host_name}/"
    return settings.SITE_URL.rstrip("/") + reverse(
        "survey-home", kwargs={"slug": survey.campaign.slug}
    )


def survey_url(survey: Survey, path: str = "") -> str:
    """Absolute address of a page under the survey's root (path without leading slash)."""
    return survey_root(survey) + path


def magic_link(invite: SurveyInvite, *, step: str = "") -> str:
    """The invite's personal link; with `step`, it opens that survey step."""
    link = survey_url(invite.survey, f"t/{invite_token(invite)}/")
    return f"{link}?{urlencode({'step': step})}" if step else link


def unsubscribe_link(invite: SurveyInvite) -> str:
    return survey_url(invite.survey, f"unsubscribe/{unsubscribe_token(invite)}/")

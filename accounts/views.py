from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .errors import AccountsError, InvitationInvalid
from .forms import AcceptInvitationForm, InviteForm, RoleForm
from .models import Invitation, Membership, Organization
from .permissions import ACTIONS_DESCRIBED, ROLE_MATRIX, role_can
from .tokens import invitation_from_token


def _organization_for(request, org_slug: str, action: str) -> tuple[Organization, str]:
    """The organization if the user belongs to it (else 404), and their role (403
    if it does not allow `action`)."""
    membership = (
        Membership.objects.filter(user=request.user, organization__slug=org_slug)
        .select_related("organization")
        .first()
    )
    if membership is None:
        raise Http404("No such organization.")
    if not role_can(membership.role, action):
        raise PermissionDenied("Your role does not allow this.")
    return membership.organization, membership.role


@login_required
def team(request, org_slug):
    organization, role = _organization_for(request, org_slug, "team.view")
    invitations = organization.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")
    matrix = [
        (
            ACTIONS_DESCRIBED[action],
            [r in roles for r in ("owner", "manager", "support", "warehouse")],
        )
        for action, roles in ROLE_MATRIX.items()
    ]
    return render(
        request,
        "accounts/team.html",
        {
            "organization": organization,
            "role": role,
            "can_manage": role_can(role, "team.manage"),
            "members": selectors.members_of(organization=organization),
            "invitations": invitations,
            "invite_form": InviteForm(),
            "role_choices": RoleForm.base_fields["role"].choices,
            "matrix": matrix,
            "events": organization.membership_events.select_related("actor")[:20],
        },
    )


@login_required
@require_POST
def invite(request, org_slug):
    organization, role = _organization_for(request, org_slug, "team.manage")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.invite_member(
                organization=organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except AccountsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("team", organization.slug)
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field.capitalize()}: {' '.join(errors)}")
    return redirect("team", organization.slug)


@login_required
@require_POST
def revoke(request, org_slug, invitation_id):
    organization, role = _organization_for(request, org_slug, "team.manage")
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization=organization)
    try:
        services.revoke_invitation(invitation=invitation, actor=request.user)
        messages.success(request, f"Invitation of {invitation.email} withdrawn.")
    except AccountsError as exc:
        messages.error(request, exc.message)
    return redirect("team", organization.slug)


@login_required
@require_POST
def member_role(request, org_slug, membership_id):
    organization, role = _organization_for(request, org_slug, "team.manage")
    membership = get_object_or_404(Membership, pk=membership_id, organization=organization)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role from the list.")
        return redirect("team", organization.slug)
    try:
        services.change_role(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
        messages.success(
            request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
        )
    except AccountsError as exc:
        messages.error(request, exc.message)
    return redirect("team", organization.slug)


@login_required
@require_POST
def member_remove(request, org_slug, membership_id):
    organization, role = _organization_for(request, org_slug, "team.manage")
    membership = get_object_or_404(Membership, pk=membership_id, organization=organization)
    try:
        services.remove_member(membership=membership, actor=request.user)
        messages.success(request, f"{membership.user.email} was removed from {organization}.")
    except AccountsError as exc:
        messages.error(request, exc.message)
    if membership.user_id == request.user.id:
        return redirect("campaign-list")
    return redirect("team", organization.slug)


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    try:
        invitation = invitation_from_token(token)
    except InvitationInvalid as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"error": exc.message}, status=400
        )
    context = {"invitation": invitation}
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                services.accept_invitation(invitation=invitation, user=request.user)
            except AccountsError as exc:
                context["error"] = exc.message
                return render(request, "accounts/invitation_accept.html", context, status=400)
            messages.success(request, f"Welcome to {invitation.organization}.")
            return redirect("campaign-list")
        return render(request, "accounts/invitation_accept.html", context)
    existing = services.User.objects.filter(email__iexact=invitation.email).exists()
    if existing:
        context["needs_login"] = True
        return render(request, "accounts/invitation_accept.html", context)
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.accept_invitation(
                invitation=invitation,
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password1"],
            )
        except AccountsError as exc:
            context.update(form=form, error=exc.message)
            return render(request, "accounts/invitation_accept.html", context, status=400)
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {invitation.organization}.")
        return redirect("campaign-list")
    context["form"] = form
    return render(request, "accounts/invitation_accept.html", context)

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import EmailLoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=EmailLoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation-accept"),
]

team_urlpatterns = [
    path("orgs/<slug:org_slug>/team/", views.team, name="team"),
    path("orgs/<slug:org_slug>/team/invite/", views.invite, name="team-invite"),
    path(
        "orgs/<slug:org_slug>/team/invitations/<int:invitation_id>/revoke/",
        views.revoke,
        name="team-invitation-revoke",
    ),
    path(
        "orgs/<slug:org_slug>/team/members/<int:membership_id>/role/",
        views.member_role,
        name="team-member-role",
    ),
    path(
        "orgs/<slug:org_slug>/team/members/<int:membership_id>/remove/",
        views.member_remove,
        name="team-member-remove",
    ),
]

from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import team_urlpatterns
from surveys.invite_urls import backoffice_patterns as backoffice_invite_patterns


def home(request):
    return redirect("campaign-list" if request.user.is_authenticated else "login")


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("app/", include("pledges.urls")),
    path("app/", include(team_urlpatterns)),
    path("app/", include("inventory.sku_urls")),
    path("app/", include("pledges.catalog_urls")),
    path("app/", include("surveys.urls")),
    path("app/", include("inventory.map_urls")),
    path("app/", include("inventory.demand_urls")),
    path("app/", include("surveys.design_urls")),
    path("app/", include("surveys.catalog_text_urls")),
    path("app/", include("shipping.urls")),
    path("app/", include("orders.urls")),
    path("app/", include(backoffice_invite_patterns)),
    path("app/", include("surveys.response_urls")),
    # The backer survey (also served at the root of a campaign's own host name).
    path("s/<slug:slug>/", include("surveys.backer_urls")),
    path("webhooks/", include("orders.webhook_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.SERVE_MEDIA:
    # Self-hosted installs serve uploads (campaign logos) from the app; put a
    # proxy or object storage in front when traffic grows.
    from django.urls import re_path
    from django.views.static import serve

    urlpatterns += [
        re_path(
            r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}, name="media"
        )
    ]

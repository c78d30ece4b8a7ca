from django.urls import path

from .views import backers, campaigns, imports

urlpatterns = [
    path("", campaigns.campaign_list, name="campaign-list"),
    path("campaigns/new/", campaigns.campaign_create, name="campaign-create"),
    path("c/<slug:slug>/", campaigns.campaign_overview, name="campaign-overview"),
    path("c/<slug:slug>/settings/", campaigns.campaign_settings, name="campaign-settings"),
    # backer imports
    path("c/<slug:slug>/imports/", imports.import_list, name="import-list"),
    path("c/<slug:slug>/imports/<int:run_id>/", imports.import_detail, name="import-detail"),
    path(
        "c/<slug:slug>/imports/<int:run_id>/progress/",
        imports.import_progress_partial,
        name="import-progress",
    ),
    path(
        "c/<slug:slug>/imports/<int:run_id>/mapping/", imports.import_mapping, name="import-mapping"
    ),
    path("c/<slug:slug>/imports/<int:run_id>/apply/", imports.import_apply, name="import-apply"),
    path(
        "c/<slug:slug>/imports/<int:run_id>/problems.csv",
        imports.import_problems_csv,
        name="import-problems-csv",
    ),
    # backers
    path("c/<slug:slug>/backers/", backers.backer_list, name="backer-list"),
    path("c/<slug:slug>/backers/<int:backer_id>/", backers.backer_detail, name="backer-detail"),
    path("c/<slug:slug>/duplicates/", backers.duplicate_list, name="duplicate-list"),
    path(
        "c/<slug:slug>/duplicates/<int:group_id>/merge/",
        backers.duplicate_merge,
        name="duplicate-merge",
    ),
    path(
        "c/<slug:slug>/duplicates/<int:group_id>/keep-apart/",
        backers.duplicate_keep_apart,
        name="duplicate-keep-apart",
    ),
]

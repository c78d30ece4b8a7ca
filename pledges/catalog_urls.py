"""Back-office URLs of reward composition, add-on choices, regional editions and
stretch goals (mounted under /app/ in config/urls.py)."""

from django.urls import path

from .views import catalog

C = "c/<slug:slug>/catalog/"
REWARD = C + "rewards/<int:reward_id>/"
OFFER = C + "addons/<int:offer_id>/choices/"
GROUP = C + "choices/<int:group_id>/"
OPTION = GROUP + "options/<int:option_id>/"

urlpatterns = [
    # the reward map and the composition editor
    path(C + "rewards/", catalog.reward_map, name="reward-map"),
    path(REWARD, catalog.reward_compose, name="reward-compose"),
    path(REWARD + "items/add/", catalog.reward_item_add, name="reward-item-add"),
    path(REWARD + "items/<int:item_id>/", catalog.reward_item_update, name="reward-item-update"),
    path(
        REWARD + "items/<int:item_id>/delete/",
        catalog.reward_item_delete,
        name="reward-item-delete",
    ),
    path(REWARD + "copy/", catalog.reward_copy, name="reward-copy"),
    path(
        REWARD + "choices/new/",
        catalog.reward_choice_group_create,
        name="reward-choice-group-create",
    ),
    path(
        REWARD + "choices/from-skus/",
        catalog.reward_choice_group_from_skus,
        name="reward-choice-group-from-skus",
    ),
    # choice groups of an add-on offer: the same editor
    path(OFFER, catalog.addon_choices, name="addon-choices"),
    path(OFFER + "new/", catalog.addon_choice_group_create, name="addon-choice-group-create"),
    path(
        OFFER + "from-skus/",
        catalog.addon_choice_group_from_skus,
        name="addon-choice-group-from-skus",
    ),
    # a choice group and its options, whoever owns the group
    path(GROUP, catalog.choice_group_update, name="choice-group-update"),
    path(GROUP + "delete/", catalog.choice_group_delete, name="choice-group-delete"),
    path(GROUP + "options/add/", catalog.choice_option_add, name="choice-option-add"),
    path(OPTION, catalog.choice_option_update, name="choice-option-update"),
    path(OPTION + "default/", catalog.choice_option_default, name="choice-option-default"),
    path(OPTION + "delete/", catalog.choice_option_delete, name="choice-option-delete"),
    # regional editions
    path(C + "regional/", catalog.regional_rule_list, name="regional-rule-list"),
    path(C + "regional/new/", catalog.regional_rule_create, name="regional-rule-create"),
    path(C + "regional/<int:rule_id>/", catalog.regional_rule_edit, name="regional-rule-edit"),
    path(
        C + "regional/<int:rule_id>/delete/",
        catalog.regional_rule_delete,
        name="regional-rule-delete",
    ),
    # stretch goals
    path(C + "stretch-goals/", catalog.stretch_goal_list, name="stretch-goal-list"),
    path(C + "stretch-goals/new/", catalog.stretch_goal_create, name="stretch-goal-create"),
    path(C + "stretch-goals/<int:goal_id>/", catalog.stretch_goal_edit, name="stretch-goal-edit"),
    path(
        C + "stretch-goals/<int:goal_id>/delete/",
        catalog.stretch_goal_delete,
        name="stretch-goal-delete",
    ),
]

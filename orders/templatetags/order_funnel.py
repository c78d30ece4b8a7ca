"""`{% order_funnel campaign %}`: the campaign's order funnel as an inline SVG bar
chart with counts, each bar a link to the orders (or survey pages) it counts."""

from django import template

from accounts.permissions import role_can

from ..selectors import funnel

register = template.Library()

BAR_HEIGHT = 26
GAP = 8
LABEL_WIDTH = 120
CHART_WIDTH = 640
VIEW = "orders.view"
# Who may follow each bar's link (the page it leads to asks the same).
STEP_ACTIONS = {"imported": "backers.view", "invited": "surveys.view", "completed": "surveys.view"}


@register.inclusion_tag("orders/orders/_funnel.html", takes_context=True)
def order_funnel(context, campaign):
    role = context.get("role")
    steps = funnel(campaign=campaign)
    top = max((step.count for step in steps), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 70  # space for the count right of the bar
    bars = []
    for index, step in enumerate(steps):
        y = index * (BAR_HEIGHT + GAP)
        width = max(round(room * step.count / top), 2 if step.count else 0)
        bars.append(
            {
                "step": step,
                "url": step.url
                if role_can(role, STEP_ACTIONS.get(step.key, "orders.view"))
                else "",
                "y": y,
                "text_y": y + BAR_HEIGHT * 0.68,
                "width": width,
                "count_x": LABEL_WIDTH + width + 6,
                "share": round(100 * step.count / steps[0].count) if steps[0].count else 0,
            }
        )
    return {
        "campaign": campaign,
        "steps": steps,
        "bars": bars,
        "bar_height": BAR_HEIGHT,
        "label_width": LABEL_WIDTH,
        "width": CHART_WIDTH,
        "height": len(steps) * (BAR_HEIGHT + GAP),
    }

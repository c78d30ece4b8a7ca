"""The SKU catalog journey in a real browser: create SKUs, compose a reward
(items and a choice made from SKUs), check and lock the map, find edits
refused while it is locked, unlock with a logged reason; read the demand
report and download it; the catalog pages fit a phone."""

import csv
import re

import pytest

from pledges.models import ChoiceGroup, ChoiceOption, PaymentStatus, RewardItem
from tests.factories import (
    TEST_PASSWORD,
    AddOnOfferFactory,
    CampaignFactory,
    MembershipFactory,
    PledgeFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 390


@pytest.fixture
def creator(transactional_db):
    """An owner, a campaign with one reward tier, and one SKU already in the catalog."""
    user = UserFactory(email="maker@example.org", first_name="Mia", last_name="Maker")
    campaign = CampaignFactory(slug="lantern", name="Lantern", currency="USD")
    MembershipFactory(user=user, organization=campaign.organization)
    reward = RewardFactory(campaign=campaign, title="Core Game")
    SkuFactory(
        organization=campaign.organization,
        code="MAT-RED",
        name="Playmat",
        attributes={"colour": "red"},
    )
    return user, campaign, reward


@pytest.fixture
def demand(creator):
    """Collected pledges in four countries over two composed rewards, one of
    them with a choice nobody has made yet, and a dropped pledge that does not count."""
    user, campaign, core = creator
    org = campaign.organization
    box = SkuFactory(organization=org, code="LNT-CORE", name="Lantern core box")
    coins = SkuFactory(organization=org, code="COIN-SET", name="Metal coins")
    blue = SkuFactory(
        organization=org, code="MAT-BLUE", name="Playmat", attributes={"colour": "blue"}
    )
    red = org.skus.get(code="MAT-RED")
    deluxe = RewardFactory(campaign=campaign, title="Deluxe", minimum=core.minimum * 2)
    RewardItemFactory(reward=core, sku=box, quantity=1)
    RewardItemFactory(reward=deluxe, sku=box, quantity=1)
    RewardItemFactory(reward=deluxe, sku=coins, quantity=2)
    group = ChoiceGroup.objects.create(campaign=campaign, reward=deluxe, name="Playmat colour")
    ChoiceOption.objects.create(group=group, label="Red", sku=red, is_default=True, position=0)
    ChoiceOption.objects.create(group=group, label="Blue", sku=blue, position=1)
    for reward, country in [
        (core, "SE"),
        (core, "DE"),
        (core, "US"),
        (deluxe, "US"),
        (deluxe, "GB"),
    ]:
        PledgeFactory(backer__campaign=campaign, reward=reward, shipping_country=country)
    PledgeFactory(
        backer__campaign=campaign,
        reward=deluxe,
        shipping_country="FR",
        payment_status=PaymentStatus.DROPPED,
    )
    return user, campaign, deluxe


def _log_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Lantern")


def _create_sku(page, *, code, name, hs_code, attributes=""):
    page.click(".page-head >> text=New SKU")
    page.fill("#id_code", code)
    page.fill("#id_name", name)
    page.fill("#id_attributes", attributes)
    page.fill("#id_weight_g", "1200")
    page.fill("#id_hs_code", hs_code)
    page.select_option("#id_country_of_origin", "CN")
    page.fill("#id_customs_description", "Board game")
    page.click("text=Create SKU")
    assert page.locator(".msg.success").inner_text() == f"SKU {code} created."


def test_creator_builds_checks_locks_and_unlocks_the_sku_map(page, live_server, creator):
    user, campaign, reward = creator
    _log_in(page, live_server, user)
    page.click("text=Lantern")
    page.click("nav.stages >> text=Catalog")
    assert page.locator("h1").inner_text() == "SKUs"

    # two SKUs through the form; the HS code is typed the way customs papers write it
    _create_sku(page, code="LNT-CORE", name="Lantern core box", hs_code="9504.90")
    _create_sku(
        page, code="MAT-BLUE", name="Playmat", hs_code="9504 90", attributes="colour = blue"
    )
    core_row = page.locator("table.skus tr", has_text="LNT-CORE")
    assert "950490" in core_row.inner_text()
    assert core_row.locator(".badge.danger").count() == 0  # nothing missing

    # compose the reward: one fixed item, then a choice made from two SKUs
    page.click("nav.subnav >> text=Rewards")
    assert "no components" in page.locator(f"#reward-{reward.pk}").inner_text()
    page.click(f"#reward-{reward.pk} >> text=Core Game")
    page.locator("#items label.sku-pick", has_text="LNT-CORE").locator("input").check()
    page.click("text=Add the ticked SKUs")
    page.wait_for_selector("#composition .msg.success >> text=Added LNT-CORE.")
    assert page.locator("table.compose-items tbody tr").count() == 1
    assert "LNT-CORE" in page.locator("table.compose-items").inner_text()

    form = page.locator("#new-choice-from-skus")
    form.get_by_label("Name").fill("Playmat colour")
    form.locator("label.sku-pick", has_text="MAT-RED").locator("input").check()
    form.locator("label.sku-pick", has_text="MAT-BLUE").locator("input").check()
    form.locator("text=Create the choice").click()
    page.wait_for_selector("#composition .msg.success >> text=created with 2 options")
    group = page.locator(".choice-group", has_text="Playmat colour")
    assert sorted(group.locator(".option-label").all_inner_texts()) == ["Blue", "Red"]
    assert "no default" in group.locator(".warn-line").inner_text()

    # the map check names what still blocks and will not lock
    page.click("nav.subnav >> text=Map check")
    assert page.locator("#lock-state").inner_text() == "1 problem blocks the lock"
    assert page.get_by_role("button", name="Lock the SKU map").is_disabled()
    assert (
        "Choice “Playmat colour” of reward “Core Game” has no default"
        in page.locator("#choice_no_default").inner_text()
    )

    # fix it: mark the default on the reward page
    page.click("nav.subnav >> text=Rewards")
    page.click(f"#reward-{reward.pk} >> text=Core Game")
    compose_url = page.url
    blue = group.locator(".option-row", has=page.locator(".option-label", has_text="Blue"))
    blue.get_by_role("button", name="Make default").click()
    page.wait_for_selector(
        "#composition .msg.success >> text=now ships when a backer never chooses"
    )
    assert blue.locator(".badge.ok").inner_text() == "default"
    assert group.locator(".warn-line").count() == 0

    # a second tab keeps the editor open while the map gets locked
    stale = page.context.new_page()
    stale.goto(compose_url)

    page.click("nav.subnav >> text=Map check")
    assert page.locator("#lock-state").inner_text() == "Ready to lock"
    page.get_by_role("button", name="Lock the SKU map").click()
    assert (
        page.locator(".msg.success").inner_text()
        == "SKU map locked: surveys can go out against it."
    )
    assert page.locator("#lock-state").inner_text() == "SKU map locked"
    assert page.locator("nav.subnav .badge.locked").inner_text() == "SKU map locked"

    # an edit from the page opened before the lock is refused with the lock message
    stale.get_by_label("Quantity of LNT-CORE").fill("3")
    stale.locator("table.compose-items").get_by_role("button", name="Save").click()
    refusal = stale.locator("#composition .msg.error")
    refusal.wait_for()
    assert refusal.inner_text() == (
        "The SKU map is locked. Unlock it (with a reason) on the map check page to change it."
    )
    assert RewardItem.objects.get(reward=reward).quantity == 1
    stale.close()
    # and the reward page itself is now read-only
    page.goto(compose_url)
    assert "this page is read-only" in page.locator(".notice.warn").inner_text()
    assert page.locator("text=Add the ticked SKUs").count() == 0
    assert page.get_by_role("button", name="Make default").count() == 0

    # unlock with a reason: it is in the lock history
    page.click("nav.subnav >> text=Map check")
    page.fill("#id_reason", "Retail edition needs a second playmat")
    page.click("text=Unlock the SKU map")
    assert page.locator(".msg.success").inner_text().startswith("SKU map unlocked.")
    assert page.locator("#lock-state").inner_text() == "Ready to lock"
    history = page.locator("section[aria-labelledby=log] tbody tr")
    assert history.count() == 2
    unlocked = history.filter(has_text="Unlocked")
    assert "Retail edition needs a second playmat" in unlocked.inner_text()
    assert "Mia Maker" in unlocked.inner_text()
    assert page.locator("nav.subnav .badge.locked").count() == 0


def test_demand_report_by_sku_and_region_with_csv(page, live_server, demand):
    user, campaign, _deluxe = demand
    _log_in(page, live_server, user)
    page.goto(f"{live_server.url}/app/c/{campaign.slug}/catalog/skus/")
    page.click("nav.subnav >> text=Demand")
    assert page.locator("h1").inner_text() == "Demand report"
    assert "from 5 collected pledges" in page.locator(".page-head").inner_text()

    units = page.locator(
        "section.card", has=page.locator("h2", has_text=re.compile("^Units per SKU$"))
    )
    rows = units.locator("tbody tr")
    assert rows.count() == 2
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(2)]
    assert [(c[0], c[2]) for c in cells] == [("LNT-CORE", "5"), ("COIN-SET", "4")]
    bars = units.locator("tbody .bar")
    assert bars.count() == 2
    widths = [bars.nth(i).bounding_box()["width"] for i in range(2)]
    assert widths[0] > widths[1] > 0  # 5 units draw a longer bar than 4
    pending = page.locator("#pending-choices")
    assert "Playmat colour" in pending.inner_text() and "MAT-RED" in pending.inner_text()

    # by country, then by region
    country_head = page.locator("section.card", has_text="Units per SKU and country").locator(
        "thead"
    )
    countries = [t.strip() for t in country_head.locator("th").all_text_contents()][2:]
    assert sorted(countries) == ["Germany", "Sweden", "United Kingdom", "United States of America"]
    page.click("text=By region")
    page.wait_for_url(re.compile(r"\?by=region$"))
    assert page.locator("a[aria-current=page]", has_text="By region").count() == 1
    by_region = page.locator("section.card", has_text="Units per SKU and region")
    heads = [t.strip() for t in by_region.locator("thead th").all_text_contents()]
    assert heads[:2] == ["SKU", "Total"]
    assert sorted(heads[2:]) == ["EU", "United Kingdom", "United States"]
    cells = by_region.locator("tbody tr", has_text="LNT-CORE").locator("td").all_inner_texts()
    core = dict(zip(heads, cells, strict=True))
    assert core == {
        "SKU": "LNT-CORE",
        "Total": "5",
        "EU": "2",
        "United States": "2",
        "United Kingdom": "1",
    }

    # the CSV carries the same figures
    with page.expect_download() as info:
        page.click("text=Download CSV")
    download = info.value
    assert download.suggested_filename == "lantern-demand-by-region.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    header = table[0]
    assert header[:4] == ["Line", "SKU code", "Description", "Total units"]
    lines = {row[1]: dict(zip(header, row, strict=True)) for row in table if row[0] == "SKU"}
    assert lines["LNT-CORE"]["Total units"] == "5"
    assert lines["LNT-CORE"]["EU"] == "2"
    assert lines["COIN-SET"]["Total units"] == "4"
    assert lines["COIN-SET"]["United Kingdom"] == "2"


def test_catalog_pages_fit_a_phone(phone, live_server, demand):
    user, campaign, deluxe = demand
    # A long add-on text and an offer: the mapping table has all its columns.
    AddOnOfferFactory(campaign=campaign, name="Playmat")
    PledgeFactory(
        backer__campaign=campaign,
        reward=deluxe,
        addons_text="Premium neoprene playmat with stitched edges (limited) × 2; Dice tower × 1",
    )
    _log_in(phone, live_server, user)
    base = f"{live_server.url}/app/c/{campaign.slug}/catalog"
    for path, heading in [
        ("/skus/", "SKUs"),
        (f"/rewards/{deluxe.pk}/", "Deluxe"),
        ("/demand/", "Demand report"),
        ("/imported-addons/", "Imported add-ons"),
        ("/addons/", "Add-on offers"),
        ("/check/", "Map check"),
    ]:
        phone.goto(base + path)
        assert phone.locator("h1").inner_text() == heading
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} scrolls sideways on a phone: {width}px wide"

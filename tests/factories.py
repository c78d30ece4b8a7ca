from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from djmoney.money import Money

from accounts.models import Membership, Organization, Role
from pledges.models import Backer, Campaign, PaymentStatus, Platform, Pledge, Reward

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    username = factory.LazyAttribute(lambda o: o.email.lower())
    first_name = "Ada"
    last_name = "Lovelace"
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Studio {n}")
    slug = factory.Sequence(lambda n: f"studio-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.OWNER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    platform = Platform.KICKSTARTER
    currency = "USD"


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    campaign = factory.SubFactory(CampaignFactory)
    platform_reward_id = factory.Sequence(lambda n: str(9000 + n))
    title = factory.Sequence(lambda n: f"Tier {n}")
    minimum = factory.LazyAttribute(lambda o: Money(Decimal("59.00"), o.campaign.currency))


class BackerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Backer

    campaign = factory.SubFactory(CampaignFactory)
    platform = Platform.KICKSTARTER
    platform_backer_id = factory.Sequence(lambda n: str(1_000_000 + n))
    backer_number = factory.Sequence(lambda n: n + 1)
    name = "Zoë Åberg"
    email = factory.Sequence(lambda n: f"backer{n}@example.net")
    email_normalized = factory.LazyAttribute(lambda o: o.email.strip().lower())


class PledgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pledge

    backer = factory.SubFactory(BackerFactory)
    reward = factory.SubFactory(RewardFactory, campaign=factory.SelfAttribute("..backer.campaign"))
    amount = factory.LazyAttribute(lambda o: Money(Decimal("59.00"), o.backer.campaign.currency))
    payment_status = PaymentStatus.COLLECTED
    shipping_country = "SE"
    shipping_city = "Tyresö"


# --- SKU catalog and reward map ---------------------------------------------


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Sku"

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Item {n}")
    weight_g = 450
    hs_code = "950490"
    country_of_origin = "CN"
    customs_description = "Board game"


class RewardItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pledges.RewardItem"

    reward = factory.SubFactory(RewardFactory)
    sku = factory.SubFactory(
        SkuFactory, organization=factory.SelfAttribute("..reward.campaign.organization")
    )
    quantity = 1


class AddOnOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveys.AddOnOffer"

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Add-on {n}")
    price = factory.LazyAttribute(lambda o: Money(Decimal("15.00"), o.campaign.currency))


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveys.Survey"
        django_get_or_create = ("campaign",)

    campaign = factory.SubFactory(CampaignFactory)
    status = "live"


class SurveyInviteFactory(factory.django.DjangoModelFactory):
    """An invite of a backer who has a pledge (give `backer=` to reuse one)."""

    class Meta:
        model = "surveys.SurveyInvite"

    survey = factory.SubFactory(SurveyFactory)
    backer = factory.LazyAttribute(
        lambda o: PledgeFactory(backer__campaign=o.survey.campaign).backer
    )
    email = factory.LazyAttribute(lambda o: o.backer.email)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveys.Question"

    survey = factory.SubFactory(SurveyFactory)
    kind = "short_text"
    label = factory.Sequence(lambda n: f"Question {n}")


# --- orders ------------------------------------------------------------------


class OrderFactory(factory.django.DjangoModelFactory):
    """A submitted order of a backer with a pledge (numbers taken in sequence)."""

    class Meta:
        model = "orders.Order"

    backer = factory.LazyAttribute(lambda o: PledgeFactory().backer)
    campaign = factory.LazyAttribute(lambda o: o.backer.campaign)
    number = factory.Sequence(lambda n: n + 1)
    state = "submitted"
    email = factory.LazyAttribute(lambda o: o.backer.email)
    name = factory.LazyAttribute(lambda o: o.backer.name)
    currency = factory.LazyAttribute(lambda o: o.campaign.currency)
    country = "SE"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.OrderLine"

    order = factory.SubFactory(OrderFactory)
    sku = factory.LazyAttribute(lambda o: SkuFactory(organization=o.order.campaign.organization))
    sku_code = factory.LazyAttribute(lambda o: o.sku.code)
    description = factory.LazyAttribute(lambda o: o.sku.name)
    quantity = 1
    source = "reward"

"""Properties of an order's price as re-pricing computes it (pure, no database):
lines + shipping + tax = total, and rounding once per line never drifts by more
than half a minor unit per line."""

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders import tax
from orders.services.repricing import (
    PricedLine,
    RewardPart,
    charged_total,
    order_tax_lines,
)

ON = date(2026, 12, 1)
HALF_CENT = Decimal("0.005")
RATES = [
    tax.RateRow("DE", "", Decimal("19")),
    tax.RateRow("SE", "", Decimal("25")),
    tax.RateRow("CA", "", Decimal("5"), "GST"),
    tax.RateRow("CA", "CA-NS", Decimal("14"), "HST"),
]

cents = st.integers(min_value=1, max_value=50_000).map(lambda n: Decimal(n).scaleb(-2))
priced_lines = st.lists(
    st.builds(
        lambda quantity, unit, digital: PricedLine(
            "Add-on", quantity, unit, unit * quantity, digital
        ),
        st.integers(min_value=1, max_value=5),
        cents,
        st.booleans(),
    ),
    max_size=6,
)
# Generation is cheap; on a busy shared machine it can still look "too slow".
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
destinations = st.sampled_from(
    [tax.Destination("DE"), tax.Destination("SE"), tax.Destination("CA", "NS")]
)


def quote_for(lines, destination, *, inclusive=False, taxes_pledged=True):
    policy = tax.TaxPolicy(
        currency="EUR",
        prices_include_tax=inclusive,
        tax_on_pledged_rewards=taxes_pledged,
        seller_country="DE",  # no customs border to DE/SE: domestic, every line taxed
    )
    return tax.quote_tax(destination=destination, lines=lines, policy=policy, rates=RATES, on=ON)


@PROPERTY
@given(
    priced=priced_lines,
    shipping=st.one_of(st.just(Decimal("0")), cents),
    reward_minimum=st.one_of(st.just(Decimal("0")), cents),
    destination=destinations,
    taxes_pledged=st.booleans(),
)
def test_goods_plus_shipping_plus_tax_is_the_total(
    priced, shipping, reward_minimum, destination, taxes_pledged
):
    goods = sum((line.line_total for line in priced), Decimal("0"))
    lines = order_tax_lines(
        priced_lines=priced,
        goods_total=goods,
        shipping_fee=shipping,
        reward=RewardPart("Core box", reward_minimum),
    )
    quote = quote_for(lines, destination, taxes_pledged=taxes_pledged)

    assert charged_total(quote, prices_include_tax=False) == goods + shipping + quote.tax_total


@PROPERTY
@given(priced=priced_lines, shipping=cents, destination=destinations)
def test_with_prices_including_tax_the_total_is_what_was_priced(priced, shipping, destination):
    goods = sum((line.line_total for line in priced), Decimal("0"))
    lines = order_tax_lines(
        priced_lines=priced, goods_total=goods, shipping_fee=shipping, reward=None
    )
    quote = quote_for(lines, destination, inclusive=True)

    assert charged_total(quote, prices_include_tax=True) == goods + shipping
    assert sum((t.net + t.tax for t in quote.lines), Decimal("0")) == goods + shipping


@PROPERTY
@given(priced=priced_lines, shipping=cents, destination=destinations, inclusive=st.booleans())
def test_each_line_is_rounded_within_half_a_minor_unit(priced, shipping, destination, inclusive):
    goods = sum((line.line_total for line in priced), Decimal("0"))
    lines = order_tax_lines(
        priced_lines=priced, goods_total=goods, shipping_fee=shipping, reward=None
    )
    quote = quote_for(lines, destination, inclusive=inclusive)

    exact_total = Decimal("0")
    for taxed in quote.lines:
        rate = taxed.rate
        amount = taxed.line.amount
        exact = amount * rate / (100 + rate) if inclusive else amount * rate / 100
        exact_total += exact
        assert abs(taxed.tax - exact) <= HALF_CENT
    assert abs(quote.tax_total - exact_total) <= HALF_CENT * len(quote.lines)


@PROPERTY
@given(priced=priced_lines, late_price=cents, shipping=cents)
def test_a_late_pledge_pays_its_reward_in_the_survey(priced, late_price, shipping):
    goods = sum((line.line_total for line in priced), Decimal("0")) + late_price
    lines = order_tax_lines(
        priced_lines=priced,
        goods_total=goods,
        shipping_fee=shipping,
        reward=RewardPart("Core box", Decimal("59.00")),
    )

    assert lines[0] == tax.Line(tax.LineKind.GOODS, late_price, description="Core box")
    assert not any(line.is_pledged_reward for line in lines)

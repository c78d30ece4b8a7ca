"""Refused payment actions (stable `code`s, like orders.errors)."""

from .errors import OrdersError


class PaymentError(OrdersError):
    code = "payment_error"


class TestGatewayRefused(PaymentError):
    """The built-in test gateway moves no money: refused in production unless the
    operator enabled it on purpose (PLEDGEPORT_TEST_GATEWAY=true)."""

    __test__ = False  # not a pytest test class, whatever its name says
    code = "test_gateway_refused"


class GatewayNotConfigured(PaymentError):
    """Stripe is chosen but its secret key is not in the environment."""

    code = "gateway_not_configured"


class GatewayFailed(PaymentError):
    """The gateway refused or could not be reached; nothing was charged or refunded."""

    code = "gateway_failed"


class NothingToPay(PaymentError):
    code = "nothing_to_pay"


class NoSavedCard(PaymentError):
    code = "no_saved_card"


class PaymentNotRefundable(PaymentError):
    """Only a captured charge can be refunded."""

    code = "payment_not_refundable"


class RefundAmountInvalid(PaymentError):
    code = "refund_amount_invalid"
    default_field = "amount"


class RefundExceedsCaptured(PaymentError):
    """A refund may never take back more than was captured minus what was refunded."""

    code = "refund_exceeds_captured"
    default_field = "amount"


class WebhookInvalid(PaymentError):
    """A webhook whose signature does not verify, or whose body is not an event."""

    code = "webhook_invalid"

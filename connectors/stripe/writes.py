"""Error messages for one failed write: the field named, no secret quoted."""

from __future__ import annotations

import stripe

from .fields import FieldError, stripe_param_to_field


def describe_error(error: FieldError | stripe.StripeError) -> str:
    """A short message for a WriteResult; Stripe's own message with its parameter as a field name."""
    if isinstance(error, FieldError):
        return str(error)
    if isinstance(error, stripe.AuthenticationError):
        return "Stripe rejected the api_key (401): check the account settings"
    if isinstance(error, stripe.PermissionError):
        return "the restricted key lacks permission to write customers (403)"
    message = error.user_message or type(error).__name__
    if isinstance(error, stripe.InvalidRequestError):
        field = stripe_param_to_field(error.param)
        return f"Stripe refused {field}: {message}" if field else f"Stripe refused the request: {message}"
    status = f" ({error.http_status})" if error.http_status else ""
    return f"Stripe error{status}: {message}"

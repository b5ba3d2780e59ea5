"""Business-rule failures. Views turn them into form errors, the API into 4xx JSON."""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A business rule refused the operation; nothing was changed.

    ``code`` is stable for API clients, ``message`` is for people, ``extra`` carries
    structured detail (for example the shortfall of an insufficient-credits error).
    ``status`` is the HTTP status the API answers with.
    """

    code = "application_error"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message=None, extra=None):
        self.message = message if message is not None else self.default_message
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    code = "invalid"
    default_message = _("The request is not valid.")


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class IllegalTransition(ApplicationError):
    code = "illegal_state"
    status = 409
    default_message = _("This action is not possible in the current state.")


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with an earlier one.")


class InsufficientCredits(ApplicationError):
    code = "insufficient_credits"
    status = 400
    default_message = _("Not enough credits.")


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = _("This idempotency key was already used with different parameters.")


class ServiceUnavailable(ApplicationError):
    code = "service_unavailable"
    status = 503
    default_message = _("A service this needs is unavailable; please try again shortly.")

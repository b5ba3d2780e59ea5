from django.utils.translation import gettext_lazy
from rest_framework import exceptions, permissions


class IsVerifiedClient(permissions.BasePermission):
    """Signed in (session or token) with a verified email address."""

    message = gettext_lazy("Authentication with a verified email address is required.")

    def has_permission(self, request, view):
        from solosales.accounts.selectors import user_is_verified

        return bool(request.user and request.user.is_authenticated and user_is_verified(request.user))


class InStaffGroup(permissions.BasePermission):
    """Ops API: the user is staff and in ``view.staff_group`` (superusers pass).

    Anonymous callers get 401; everyone else who is not in the group gets 404, so the ops
    API does not reveal that it exists."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if (
            user.is_active
            and user.is_staff
            and (user.is_superuser or user.groups.filter(name=getattr(view, "staff_group", None)).exists())
        ):
            return True
        raise exceptions.NotFound()

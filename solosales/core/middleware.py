import zoneinfo

from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Activates the signed-in user's time zone, and their language unless they chose one now."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            tzname = getattr(user, "timezone", "") or "UTC"
            try:
                timezone.activate(zoneinfo.ZoneInfo(tzname))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            lang = getattr(user, "language", "")
            if lang and not request.COOKIES.get("django_language") and translation.check_for_language(lang):
                translation.activate(lang)
                request.LANGUAGE_CODE = lang
        else:
            # Before signing in, times follow the browser's zone (the "tz" cookie set by app.js).
            try:
                timezone.activate(zoneinfo.ZoneInfo(request.COOKIES.get("tz") or "UTC"))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        return self.get_response(request)

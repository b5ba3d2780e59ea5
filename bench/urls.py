"""The project's URLs plus the baselines the benchmarks compare against.

``/bench/noop/``: a trivial Django view (B1 baseline). ``/bench/noop-auth/``: a DRF view with
the project's default authentication and permission (token, verified client) that parses
the JSON body and does nothing (B2 baseline)."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView


@csrf_exempt
def noop(request):
    return JsonResponse({"status": "ok", "bytes": len(request.body)})


class NoopAuthView(APIView):
    parser_classes = [JSONParser]

    def post(self, request):
        return Response({"ok": True, "keys": len(request.data)}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("bench/noop/", noop, name="bench-noop"),
    # The same trivial view behind the webhook prefix, so served by the lean webhook handler
    # (solosales/wsgi.py): B1 also reports the ingest against this stricter baseline.
    path("webhooks/bench-noop/", noop, name="bench-noop-webhook-handler"),
    path("bench/noop-auth/", NoopAuthView.as_view(), name="bench-noop-auth"),
    path("", include("solosales.urls")),
]

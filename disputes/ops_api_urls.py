from django.urls import path

from disputes import api

urlpatterns = [
    path("disputes/<int:pk>/decision/", api.OpsDisputeDecision.as_view(), name="api-ops-dispute-decision"),
    path("disputes/<int:pk>/approve/", api.OpsDisputeApprove.as_view(), name="api-ops-dispute-approve"),
]

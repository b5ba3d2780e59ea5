from django.urls import path

from disputes import api

urlpatterns = [
    path("", api.DisputeListCreate.as_view(), name="api-disputes"),
    path("<int:pk>/", api.DisputeDetail.as_view(), name="api-dispute"),
    path("<int:pk>/evidence/", api.DisputeEvidenceCreate.as_view(), name="api-dispute-evidence"),
    path("<int:pk>/evidence/<int:seq>/file/", api.DisputeEvidenceFile.as_view(), name="api-dispute-evidence-file"),
    path("<int:pk>/withdraw/", api.DisputeWithdraw.as_view(), name="api-dispute-withdraw"),
]

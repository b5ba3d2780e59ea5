from django.urls import path

from qualification import api

urlpatterns = [
    path("<int:order_id>/report/", api.ReportView.as_view(), name="api-order-report"),
]

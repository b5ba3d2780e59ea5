from django.urls import path

from qualification import views

app_name = "qualification"

urlpatterns = [
    path("<int:order_id>/report/", views.report, name="report"),
    path("<int:order_id>/report/print/", views.report_print, name="report-print"),
    path("<int:order_id>/report/csv/", views.report_csv, name="report-csv"),
]

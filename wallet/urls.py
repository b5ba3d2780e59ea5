from django.urls import path

from wallet import views

app_name = "wallet"

urlpatterns = [
    path("", views.index, name="index"),
    path("statement.csv", views.statement_csv, name="statement_csv"),
    path("topups/", views.topup_new, name="topup_new"),
    path("topups/<int:pk>/", views.topup_detail, name="topup_detail"),
    path("topups/<int:pk>/success/", views.topup_success, name="topup_success"),
    path("topups/<int:pk>/cancel/", views.topup_cancel, name="topup_cancel"),
    path("test-checkout/<int:pk>/", views.test_checkout, name="test_checkout"),
]

from django.urls import path

from disputes import views

app_name = "disputes"

urlpatterns = [
    path("", views.dispute_list, name="list"),
    path("new/<int:order_id>/", views.dispute_new, name="new"),
    path("<int:pk>/", views.dispute_detail, name="detail"),
    path("<int:pk>/evidence/", views.dispute_evidence_add, name="evidence_add"),
    path("<int:pk>/withdraw/", views.dispute_withdraw_view, name="withdraw"),
    path("<int:pk>/evidence/<int:seq>/file/", views.evidence_file, name="evidence_file"),
]

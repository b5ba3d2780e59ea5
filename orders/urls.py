from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_new, name="new"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/progress.json", views.order_progress, name="progress"),
    path("<int:pk>/cancel/", views.order_cancel_view, name="cancel"),
    path("<int:pk>/download.<str:fmt>", views.order_download, name="download"),
]

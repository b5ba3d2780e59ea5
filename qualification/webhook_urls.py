from django.urls import path

from qualification import views

urlpatterns = [
    path("sendcloud/", views.sendcloud_webhook, name="sendcloud-webhook"),
]

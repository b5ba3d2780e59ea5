from django.urls import path

from qualification import views

app_name = "qualification_public"

urlpatterns = [
    path("<str:token>/interested/", views.interested, name="interested"),
    path("<str:token>/unsubscribe/", views.unsubscribe, name="unsubscribe"),
]

from django.urls import path

from wallet import views

urlpatterns = [
    path("stripe/", views.stripe_webhook, name="stripe-webhook"),
]

from django.urls import path

from orders import api

urlpatterns = [
    path("", api.OrderListCreateView.as_view(), name="api-orders"),
    path("quote/", api.OrderQuoteView.as_view(), name="api-order-quote"),
    path("<int:pk>/", api.OrderDetailView.as_view(), name="api-order"),
    path("<int:pk>/cancel/", api.OrderCancelView.as_view(), name="api-order-cancel"),
    path("<int:pk>/leads/", api.OrderLeadsView.as_view(), name="api-order-leads"),
    path("<int:pk>/download/", api.OrderDownloadView.as_view(), name="api-order-download"),
]

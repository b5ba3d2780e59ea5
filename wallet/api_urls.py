from django.urls import path

from wallet import api

urlpatterns = [
    path("", api.WalletView.as_view(), name="api-wallet"),
    path("transfers/", api.TransferListView.as_view(), name="api-wallet-transfers"),
    path("topups/", api.TopUpListCreateView.as_view(), name="api-wallet-topups"),
    path("topups/<int:pk>/", api.TopUpDetailView.as_view(), name="api-wallet-topup"),
]

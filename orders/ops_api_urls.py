from django.urls import path

from orders import ops_api

urlpatterns = [
    path("orders/", ops_api.OpsOrderList.as_view(), name="ops-orders"),
    path("orders/<int:pk>/qa/", ops_api.OpsOrderQA.as_view(), name="ops-order-qa"),
]

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    language = serializers.CharField()
    is_staff = serializers.BooleanField()


@extend_schema(responses=MeSerializer, summary="The authenticated user")
@api_view(["GET"])
def me(request):
    return Response(MeSerializer(request.user).data)

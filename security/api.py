"""Token login and the caller's own tokens (`/api/v1/auth/…`)."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.api import ErrorSerializer
from security.models import ApiToken
from security.otp import code_verifies, confirmed_device, enrolment_required
from security.tokens import ExpiringTokenAuthentication, token_expires_at, token_issue


class LoginThrottle(AnonRateThrottle):
    """Per client address (`NUM_PROXIES`), counted in the shared cache, so every process sees one limit."""

    rate = "30/minute"


class Locked(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked"

    def __init__(self) -> None:
        minutes = settings.LOGIN_LOCKOUT_MINUTES
        super().__init__(
            f"Too many failed logins: this account or address is locked for {minutes} minutes. "
            "A manager can unlock it sooner."
        )


class EnrolmentRequired(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "enrolment_required"
    default_detail = (
        "Managers sign in with a second factor: set one up at /security/two-factor/ (after signing in to the "
        "admin) before asking for a token."
    )


class TokenLoginSerializer(AuthTokenSerializer):
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The current 6-digit code of the user's authenticator app: required from managers and from "
        "anyone who has set up a second factor. Each code works once.",
    )


class ObtainTokenView(APIView):
    """Exchange a staff username and password for an API token.

    Every refusal is the same 400 `invalid`: a missing field is named in `fields`; a wrong
    username or password and a deactivated account all give one `non_field_errors` message, so the
    answer does not tell which accounts exist. After `LOGIN_FAILURE_LIMIT` failures for a username or
    from an address (this endpoint and the admin's login together) the answer is 429 `locked`.

    A user with a second factor (managers always) also sends `otp`; a missing or wrong one is a 400
    naming `otp` and counts as a failed login. A manager who has not set one up gets 403
    `enrolment_required`.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=TokenLoginSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid`: a missing or blank field is named in `fields`; wrong credentials or a "
                "deactivated account give one message under `non_field_errors`; a missing or wrong second-factor "
                "code (or one used before) is named under `otp`.",
            ),
            403: OpenApiResponse(
                ErrorSerializer, description="`enrolment_required`: a manager without a second factor set up."
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="`throttled`: too many attempts from this address, `retry_after` says how long to "
                "wait; `locked`: too many failed logins for this username or address, locked for "
                "`LOGIN_LOCKOUT_MINUTES` or until a manager unlocks it.",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenLoginSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # axes' backend marks the request it was handed when the account or address is locked.
            if getattr(request, "axes_locked_out", False):
                raise Locked()
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        if enrolment_required(user):
            raise EnrolmentRequired()
        device = confirmed_device(user)
        if device is not None and not code_verifies(device, serializer.validated_data.get("otp")):
            user_login_failed.send(
                sender=type(self), credentials={"username": serializer.validated_data["username"]}, request=request
            )
            raise exceptions.ValidationError(
                {"otp": ["Enter the current code from your authenticator app (each code works once)."]}
            )
        key = token_issue(user=user, request=request)
        return Response({"token": key})


class TokenSerializer(serializers.ModelSerializer[ApiToken]):
    expires_at = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "created_at", "last_used_at", "expires_at", "client_address", "user_agent"]

    def get_expires_at(self, token: ApiToken) -> str:
        return serializers.DateTimeField().to_representation(token_expires_at(token))


class OwnTokensView(APIView):
    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: TokenSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """The caller's live API tokens (never their keys)."""
        tokens = ApiToken.objects.filter(user=cast(User, request.user))
        return Response(TokenSerializer(tokens, many=True).data)


class OwnTokenView(APIView):
    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def delete(self, request: Request, pk: int) -> Response:
        """Revoke one of the caller's tokens (the one in use too); another user's is a 404."""
        get_object_or_404(ApiToken, pk=pk, user=cast(User, request.user)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

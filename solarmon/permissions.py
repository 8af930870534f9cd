"""API permission: staff can write, any other logged-in user can only read."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class StaffWriteAuthenticatedRead(BasePermission):
    """Anonymous users get nothing; authenticated users read; staff users write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)

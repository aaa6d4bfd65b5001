"""Errors of the auth service."""

from shopkit_server.errors import AccountDisabled, Conflict, NotAuthenticated, NotFound

__all__ = [
    "AccountDisabled",
    "CannotChangeSelf",
    "EmailTaken",
    "InvalidCredentials",
    "InvalidRefreshToken",
    "UserNotFound",
]


class EmailTaken(Conflict):
    code = "email_taken"
    detail = "An account with this email already exists."


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    detail = "Wrong email or password."


class InvalidRefreshToken(NotAuthenticated):
    code = "invalid_token"
    detail = "The refresh token is invalid, expired or revoked."


class UserNotFound(NotFound):
    code = "user_not_found"
    detail = "User not found."


class CannotChangeSelf(Conflict):
    code = "cannot_change_self"
    detail = "Admins cannot change their own role or disable themselves."

"""Errors of the auth service."""

from shopkit_server.auth.models import MAX_ADDRESSES
from shopkit_server.errors import (
    AccountDisabled,
    BadRequest,
    Conflict,
    NotAuthenticated,
    NotFound,
)

__all__ = [
    "AccountDisabled",
    "AddressLimit",
    "AddressNotFound",
    "CannotChangeSelf",
    "EmailAlreadyVerified",
    "EmailTaken",
    "InvalidCredentials",
    "InvalidRefreshToken",
    "InvalidResetToken",
    "InvalidVerificationToken",
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


class InvalidResetToken(BadRequest):
    code = "invalid_reset_token"
    detail = "The password-reset token is invalid, expired or already used."


class InvalidVerificationToken(BadRequest):
    code = "invalid_verification_token"
    detail = "The verification token is invalid, expired or already used."


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"
    detail = "This email address is already verified."


class AddressNotFound(NotFound):
    code = "address_not_found"
    detail = "Address not found."


class AddressLimit(Conflict):
    code = "address_limit"
    detail = f"An address book holds at most {MAX_ADDRESSES} addresses; delete one first."

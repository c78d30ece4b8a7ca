"""Domain errors of the accounts app; `code` is stable and shown by pages and API."""


class AccountsError(Exception):
    code = "accounts_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LastOwner(AccountsError):
    code = "last_owner"


class AlreadyMember(AccountsError):
    code = "already_member"


class InvitationInvalid(AccountsError):
    code = "invitation_invalid"


class NotAllowed(AccountsError):
    code = "not_allowed"

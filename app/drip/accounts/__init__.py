"""Organizations, users, API keys, WhatsApp accounts and login throttling."""

from app.drip.accounts.api_keys import (
    api_key_for_token,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from app.drip.accounts.login_throttle import Limits, locked_until, record_failure, record_success
from app.drip.accounts.organizations import (
    create_organization,
    organization_by_name,
    update_organization,
)
from app.drip.accounts.users import authenticate, create_user
from app.drip.accounts.whatsapp_accounts import set_whatsapp_account

__all__ = [
    "Limits",
    "api_key_for_token",
    "authenticate",
    "create_api_key",
    "create_organization",
    "create_user",
    "list_api_keys",
    "locked_until",
    "organization_by_name",
    "record_failure",
    "record_success",
    "revoke_api_key",
    "set_whatsapp_account",
    "update_organization",
]

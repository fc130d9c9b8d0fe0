"""Organizations, users, API keys, WhatsApp accounts, login throttling and browser sessions."""

from app.drip.accounts.api_keys import (
    api_key_for_token,
    api_key_role,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from app.drip.accounts.login_throttle import (
    Limits,
    locked_until,
    login_delay,
    record_failure,
    record_success,
)
from app.drip.accounts.organizations import (
    create_organization,
    organization_by_name,
    update_organization,
)
from app.drip.accounts.profile import set_user_timezone
from app.drip.accounts.sessions import (
    end_all_sessions,
    end_session,
    find_session,
    renew_session,
    start_session,
    touch_session,
)
from app.drip.accounts.users import (
    ADMIN,
    MEMBER,
    authenticate,
    change_password,
    create_user,
    remove_user,
)
from app.drip.accounts.whatsapp_accounts import (
    THROUGHPUT_MPS,
    apply_limit_updates,
    new_verify_token,
    remove_whatsapp_account,
    set_whatsapp_account,
    whatsapp_account,
)

__all__ = [
    "ADMIN",
    "MEMBER",
    "THROUGHPUT_MPS",
    "Limits",
    "api_key_for_token",
    "api_key_role",
    "apply_limit_updates",
    "authenticate",
    "change_password",
    "create_api_key",
    "create_organization",
    "create_user",
    "end_all_sessions",
    "end_session",
    "find_session",
    "list_api_keys",
    "locked_until",
    "login_delay",
    "new_verify_token",
    "organization_by_name",
    "record_failure",
    "record_success",
    "remove_user",
    "remove_whatsapp_account",
    "renew_session",
    "revoke_api_key",
    "set_user_timezone",
    "set_whatsapp_account",
    "start_session",
    "touch_session",
    "update_organization",
    "whatsapp_account",
]

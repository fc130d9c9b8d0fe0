"""Sending: the processor (claim, render, record, advance), send outcomes, housekeeping
and the sending health the pages show."""

from app.drip.sending.account_actions import (
    TestMessage,
    TestOutcome,
    regenerate_verify_token,
    save_account,
    send_test_message,
    use_sandbox_again,
)
from app.drip.sending.account_health import (
    AccountTrouble,
    account_trouble,
    clear_account_failure,
    note_account_health,
)
from app.drip.sending.health import PROCESSING_JOB, LimitUse, queue_health
from app.drip.sending.housekeeping import (
    BATCH,
    delete_old_job_runs,
    delete_old_logs_batch,
    fail_stale_logs,
    refresh_campaign_counters,
)
from app.drip.sending.limit_settings import (
    MESSAGING_TIERS,
    UNSET,
    update_sending_limits,
)
from app.drip.sending.marketing_cap import schedule_retries as schedule_marketing_cap_retries
from app.drip.sending.messages import Outgoing
from app.drip.sending.outcomes import record
from app.drip.sending.partitions import create_ahead as create_partitions_ahead
from app.drip.sending.partitions import drop_expired as drop_expired_partitions
from app.drip.sending.partitions import logs_cutoff
from app.drip.sending.processor import Claim, claim
from app.drip.sending.step_test import (
    TESTS_PER_HOUR,
    StepTest,
    TooManyTests,
    send_step_test,
    tests_left,
)

__all__ = [
    "BATCH",
    "MESSAGING_TIERS",
    "PROCESSING_JOB",
    "TESTS_PER_HOUR",
    "UNSET",
    "AccountTrouble",
    "Claim",
    "LimitUse",
    "Outgoing",
    "StepTest",
    "TestMessage",
    "TestOutcome",
    "TooManyTests",
    "account_trouble",
    "claim",
    "clear_account_failure",
    "create_partitions_ahead",
    "delete_old_job_runs",
    "delete_old_logs_batch",
    "drop_expired_partitions",
    "fail_stale_logs",
    "logs_cutoff",
    "note_account_health",
    "queue_health",
    "record",
    "refresh_campaign_counters",
    "regenerate_verify_token",
    "save_account",
    "schedule_marketing_cap_retries",
    "send_step_test",
    "send_test_message",
    "tests_left",
    "update_sending_limits",
    "use_sandbox_again",
]

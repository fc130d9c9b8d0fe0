"""A/B tests may be won on the goal's conversion rate (winning_metric conversion_rate)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 12:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD = "winning_metric IN ('read_rate', 'reply_rate', 'delivery_rate', 'click_rate')"
NEW = (
    "winning_metric IN ('read_rate', 'reply_rate', 'delivery_rate', 'click_rate',"
    " 'conversion_rate')"
)


def _check(condition: str) -> None:
    # No rollup trigger names drip_ab_tests, so SQLite may rebuild it.
    with op.batch_alter_table("drip_ab_tests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_drip_ab_tests_winning_metric"), type_="check")
        batch_op.create_check_constraint("winning_metric", condition)


def upgrade():
    _check(NEW)


def downgrade():
    op.execute(
        "UPDATE drip_ab_tests SET winning_metric = 'read_rate'"
        " WHERE winning_metric = 'conversion_rate'"
    )
    _check(OLD)

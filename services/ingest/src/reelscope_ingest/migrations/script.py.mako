"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Created: ${create_date}

Expand/contract: this migration runs while the previous release still serves (the Helm chart's pre-upgrade
Job), so it must keep that release working: add nullable columns and new tables; drop or rename only in a later
release, once nothing reads them.
"""

from collections.abc import Sequence

<% body = (upgrades or "") + (downgrades or "") %>\
% if "sa." in body:
import sqlalchemy as sa
% endif
% if "op." in body:
from alembic import op
% endif
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}

"""Staff roles (SPEC §1), defined once: `Membership.Role` and the groups the workflow's rules use.

Code elsewhere names roles through this module, never as literal strings.
"""

from __future__ import annotations

from offices.models import Membership

Role = Membership.Role

COORDINATOR = Role.COORDINATOR
PHYSICIAN = Role.PHYSICIAN
MANAGER = Role.MANAGER

# Those who run an office's cases: assignment, quotes, admission, transfer.
OFFICE_STAFF: frozenset[str] = frozenset({COORDINATOR, MANAGER})
# Every member of an office, physicians included: they read and write the conversation.
ANY_STAFF: frozenset[str] = frozenset(Role)

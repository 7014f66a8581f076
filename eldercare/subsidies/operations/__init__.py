"""What staff and jobs do with subsidies, by lifecycle: programs and rule tables, the
enrolment lifecycle and accounts, batches drawn up by one person and approved by another,
payments left out, released or reversed, and what a death or a move out of the county
stops (``departures``) with the payments it leaves to recover (``recoveries``).

Operations add and flush; the view or the job commits once. This package re-exports the
operations used outside it (``from eldercare.subsidies import operations as ops``); inside
it, modules import from each other's submodules.
"""

from eldercare.subsidies.operations.access import may_manage_program
from eldercare.subsidies.operations.accounts import change_account, mask_account, reveal_account
from eldercare.subsidies.operations.batches import (
    approve,
    batch_for,
    generate,
    latest_period,
    lock_batch,
    totals,
    void_batch,
)
from eldercare.subsidies.operations.departures import (
    follow_departure,
    follow_rules,
    repair_departed,
    sent_after,
)
from eldercare.subsidies.operations.enrolment_changes import (
    record_review,
    resume,
    stop,
    suspend,
)
from eldercare.subsidies.operations.enrolments import (
    activate,
    activate_due,
    apply,
    candidates,
    decide,
    facts_of,
    review,
)
from eldercare.subsidies.operations.payments import exclude_payment, override, reverse
from eldercare.subsidies.operations.programs import (
    PROGRAM_FIELDS,
    create_program,
    exclusions_of,
    set_exclusions,
    update_program,
)
from eldercare.subsidies.operations.recoveries import mark_recovered, recoveries_of
from eldercare.subsidies.operations.rule_tables import delete_rule_table, save_rule_table

__all__ = [
    "PROGRAM_FIELDS",
    "activate",
    "activate_due",
    "apply",
    "approve",
    "batch_for",
    "candidates",
    "change_account",
    "create_program",
    "decide",
    "delete_rule_table",
    "exclude_payment",
    "exclusions_of",
    "facts_of",
    "follow_departure",
    "follow_rules",
    "generate",
    "latest_period",
    "lock_batch",
    "mark_recovered",
    "mask_account",
    "may_manage_program",
    "override",
    "record_review",
    "recoveries_of",
    "repair_departed",
    "resume",
    "reveal_account",
    "reverse",
    "review",
    "save_rule_table",
    "sent_after",
    "set_exclusions",
    "stop",
    "suspend",
    "totals",
    "update_program",
    "void_batch",
]

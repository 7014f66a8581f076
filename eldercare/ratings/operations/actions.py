"""Which actions an application's page offers a user: asked of the same predicates the
operations enforce, so that a page never shows a button its operation would refuse for who
the user is or where the application stands."""

from __future__ import annotations

from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.ratings.models import Application, AssessmentKind
from eldercare.ratings.operations.assessments import may_score
from eldercare.ratings.operations.common import can_manage_round
from eldercare.ratings.operations.rounds import may_withdraw


def allowed_actions(user, application: Application) -> frozenset[str]:
    """The names of what ``user`` may do on the application's page now: ``round`` (open the
    round's page), ``self`` / ``assess`` (score), ``appoint``, ``decide``, ``objection``,
    ``publish``, ``answer`` (an objection, or uphold it), ``withdraw``, ``compare`` (see the
    scores side by side)."""
    actions = set()
    role = role_of(user)
    if role == Role.ADMIN or role in STAFF_ROLES:
        actions.add("round")
    if role != Role.OPERATOR:
        actions.add("compare")
    if may_score(user, application, AssessmentKind.SELF):
        actions.add("self")
    if may_score(user, application, AssessmentKind.ASSESSOR):
        actions.add("assess")
    if can_manage_round(user, application.round):
        if application.is_being_assessed:
            actions.add("appoint")
        if application.is_assessed:
            actions.add("decide")
        if application.is_in_notice:
            actions.update(("objection", "publish", "answer"))
    if application.is_undecided and may_withdraw(user, application):
        actions.add("withdraw")
    return frozenset(actions)

"""What can be done with beds, by lifecycle: ``rooms`` (rooms, beds and their prices),
``state`` (a bed's open rows, its derived status, the bed lock), ``stays`` (admit, discharge,
transfer, leave), ``reservations`` (reservations and outages) and ``occupancy`` (what was
true on a day, the board). Operations never commit.

The names other features and the tests use are re-exported here.
"""

from eldercare.beds.operations.departures import close_for_death
from eldercare.beds.operations.occupancy import (
    bed_existed_on,
    bed_out_of_service_on,
    board,
    occupancy_on,
    resident_on,
    stay_on,
)
from eldercare.beds.operations.reservations import (
    release_reservation,
    reserve,
    return_to_service,
    take_out_of_service,
)
from eldercare.beds.operations.rooms import create_bed, create_room, new_bed_code, update_bed
from eldercare.beds.operations.state import (
    expire_reservations,
    lock_bed,
    open_outage,
    open_reservation,
    open_stay,
    refresh_status,
)
from eldercare.beds.operations.stays import (
    admit,
    clean_risk_assessment,
    discharge,
    discharged,
    end_leave,
    person_by_card,
    start_leave,
    transfer,
)
from eldercare.core.db import local_today

__all__ = [
    "admit",
    "bed_existed_on",
    "bed_out_of_service_on",
    "board",
    "clean_risk_assessment",
    "close_for_death",
    "create_bed",
    "create_room",
    "discharge",
    "discharged",
    "end_leave",
    "expire_reservations",
    "local_today",
    "lock_bed",
    "new_bed_code",
    "occupancy_on",
    "open_outage",
    "open_reservation",
    "open_stay",
    "person_by_card",
    "refresh_status",
    "release_reservation",
    "reserve",
    "resident_on",
    "return_to_service",
    "start_leave",
    "stay_on",
    "take_out_of_service",
    "transfer",
    "update_bed",
]

"""Calendar invitations (iCalendar, RFC 5545 with the iTIP methods of RFC 5546), made by
the icalendar library: one event per interview, its UID stable and its SEQUENCE raised at
every change, so that a calendar updates the event it holds instead of adding another."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import icalendar


@dataclass(frozen=True, slots=True)
class Invitation:
    uid: str
    sequence: int
    starts_at: datetime
    minutes: int
    summary: str
    location: str
    description: str
    # Who invites (the board's sender address, named after the company) and who is asked.
    organizer: str
    organizer_name: str
    attendee: str
    cancelled: bool = False


def method(invitation: Invitation) -> str:
    return "CANCEL" if invitation.cancelled else "REQUEST"


def to_ics(invitation: Invitation) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Job board//Interviews//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method(invitation))
    event = icalendar.Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", invitation.starts_at.astimezone(UTC))
    event.add("duration", timedelta(minutes=invitation.minutes))
    event.add("summary", invitation.summary)
    event.add("location", invitation.location)
    event.add("description", invitation.description)
    event.add("status", "CANCELLED" if invitation.cancelled else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{parseaddr(invitation.organizer)[1]}")
    organizer.params["CN"] = icalendar.vText(invitation.organizer_name)
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{invitation.attendee}")
    attendee.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["PARTSTAT"] = icalendar.vText("NEEDS-ACTION")
    attendee.params["RSVP"] = icalendar.vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics.decode()

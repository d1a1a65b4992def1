"""Who may send which command: the role table."""

from enum import StrEnum


class Role(StrEnum):
    PROGRAMME_LEAD = "programme_lead"
    FACILITATOR = "facilitator"
    EXPERT = "expert"
    PARTICIPANT = "participant"
    OBSERVER = "observer"
    SYSTEM = "system"  # the server itself (its clock); never a person's role


RUNNERS = frozenset({Role.PROGRAMME_LEAD, Role.FACILITATOR})
SPEAKERS = RUNNERS | {Role.EXPERT, Role.PARTICIPANT}
EVERYONE = SPEAKERS | {Role.OBSERVER}

# command type -> roles that may send it. A command missing here is refused.
COMMAND_RIGHTS: dict[str, frozenset[Role]] = {
    "room.join": EVERYONE,
    "room.sync": EVERYONE,
    "room.open": RUNNERS,
    "agenda.next": RUNNERS,
    "agenda.previous": RUNNERS,
    "agenda.extend": RUNNERS,
    "agenda.pause": RUNNERS,
    "agenda.resume": RUNNERS,
    "timer.tick": frozenset({Role.SYSTEM}),
    "notes.reopen": RUNNERS,
    "notes.close": RUNNERS,
    "hand.raise": SPEAKERS,
    "hand.lower": SPEAKERS,
    "hand.call_next": RUNNERS,
    "chat.send": SPEAKERS,
    "gathering.end": RUNNERS,
    "breakouts.propose": RUNNERS,
    "breakouts.move": RUNNERS,
    "breakouts.rename": RUNNERS,
    "breakouts.open": RUNNERS,
    "breakouts.choose": frozenset({Role.PARTICIPANT}),
    "breakouts.broadcast": RUNNERS,
    "breakouts.recall": RUNNERS,
    "agenda.add_item": RUNNERS,
    "agenda.update_item": RUNNERS,
    "agenda.move_item": RUNNERS,
    "agenda.remove_item": RUNNERS,
    "agenda.copy_from": RUNNERS,
    "agenda.use_template": RUNNERS,
    "question.ask": SPEAKERS,
    "question.upvote": SPEAKERS,
    "question.unvote": SPEAKERS,
    # an expert picks and answers only while on stage (facilitation/questions.py)
    "question.pick": RUNNERS | {Role.EXPERT},
    "question.answered": RUNNERS | {Role.EXPERT},
    "question.hide": RUNNERS,
    "questions.settings": RUNNERS,
    "poll.launch": RUNNERS,
    "poll.answer": SPEAKERS,
    "poll.close": RUNNERS,
    "stage.spotlight": RUNNERS,
    "stage.clear": RUNNERS,
    "stage.take_off": RUNNERS,
    # the person on stage agrees (or no longer agrees) to be recorded; runners record
    "recording.consent": SPEAKERS,
    "recording.withdraw": SPEAKERS,
    "recording.start": RUNNERS,
    "recording.stop": RUNNERS,
}


def may_send(role: Role, command_type: str) -> bool:
    return role in COMMAND_RIGHTS.get(command_type, frozenset())


def runs_gathering(role: Role) -> bool:
    return role in RUNNERS

"""The golden gathering: one whole gathering scripted through the server's rules, written
as the wire events and the views a browser must end up with.

The browser folds the same events the server does (static/src/reducer.js, qa-state.js).
This module drives `facilitation.decide` through a gathering in which every event type
happens at least once, and records:

- `initial`: the snapshot a page gets on `room.join` (the viewer's `live_view` plus the
  socket layer's extra keys, `_snapshot` in server/sockets/), here of the gathering before
  anything happened, with fixed values for the clock, the roster and the gathering;
- `steps`: each command, who sent it and when, and for each of its events the event as it
  goes over the wire (`StoredEvent.to_wire`: private fields stripped) and the top-level
  keys of the viewer's view that the event changed (`view`); the whole view after an
  event is `initial` with every `view` so far laid over it.

tests/facilitation/test_golden.py checks that the committed file is what this script
writes and that every event type occurs; static/test/golden.test.js folds the events with
the browser's reducer and compares its state with the server's view after each event.

The file is deterministic: a fake clock, fixed people and ids, sorted keys. After a change
to the rules (or to this script), regenerate it and review the diff:

    .venv/bin/python -m tests.facilitation.golden --write
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from facilitation import Actor, AgendaSlot, GatheringState, Role, apply, decide, fold
from facilitation import breakouts as b
from facilitation import commands as c
from facilitation import notes as n
from facilitation import planning as p
from facilitation import polls as po
from facilitation import questions as q
from facilitation import recording as r
from facilitation import stage as st
from facilitation.events import EVENT_TYPES, Event, event_from
from facilitation.roles import may_send
from facilitation.snapshot import live_view
from facilitation.state import AdvanceAsk, Context, GroupingRule, PersonRef, PollKind, PollPlan
from rooms.store import StoredEvent

GOLDEN_PATH = Path(__file__).resolve().parents[2] / "static" / "test" / "golden" / "gathering.json"
REGENERATE = ".venv/bin/python -m tests.facilitation.golden --write"

GATHERING_ID = "golden"
T0 = 1_800_000_000.0  # the fake clock starts here

FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR, "Vestland fylkeskommune")
ALICE = Actor(3, "Alice Askvik", Role.PARTICIPANT, "Askvik kommune", "oppstart", ("mat",))
BJORN = Actor(4, "Bjørn Brekke", Role.PARTICIPANT, "Brekke kommune", "oppstart")
EVA = Actor(5, "Eva Ekspert", Role.EXPERT)
DINA = Actor(6, "Dina Dal", Role.PARTICIPANT, "Dal kommune", "gjennomforing", ("energi",))
CARL = Actor(7, "Carl Cederås", Role.PARTICIPANT, "Cederås kommune", "gjennomforing")
# late joiners: they arrive while the breakout groups are open
LIV = Actor(8, "Liv Lia", Role.PARTICIPANT, "Lia kommune", "oppstart")
MONS = Actor(9, "Mons Myr", Role.PARTICIPANT, "Myr kommune", "gjennomforing")
NORA = Actor(10, "Nora Nes", Role.PARTICIPANT, "Nes kommune", "oppstart")
CLOCK = Actor(0, "Klimasats-forum", Role.SYSTEM)  # the server's clock (rooms/clock.py)

VIEWER = ALICE  # whose page the views are for: `mine` and `voted` are hers
THEME = (FRIDA, ALICE, BJORN, EVA, DINA, CARL, LIV, MONS, NORA)
STAGE_NAMES = (("oppstart", "Oppstart"), ("gjennomforing", "Gjennomføring"))
# asked on the forum the week before (rooms/experts.py), voted for there
ADVANCE_QUESTIONS = (
    AdvanceAsk(21, "Hvordan fikk dere kjøkkenet med?", T0 - 7 * 86400,
               PersonRef(ALICE.person_id, ALICE.name, ALICE.municipality),
               frozenset({BJORN.person_id, DINA.person_id})),
    AdvanceAsk(22, "Hvilken vekt brukte dere?", T0 - 6 * 86400,
               PersonRef(CARL.person_id, CARL.name, CARL.municipality),
               frozenset({BJORN.person_id})),
)

# the agenda as the gathering was created with (the database's agenda items)
AGENDA = (
    AgendaSlot(1, "Velkommen", "welcome", 10),
    AgendaSlot(2, "Innlegg", "expert_talk", 20),
)


def _person(actor: Actor) -> dict[str, Any]:
    """A person as the socket layer shows them in `you` and the presence roster."""
    return {"person_id": actor.person_id, "name": actor.name, "municipality": actor.municipality,
            "role": actor.role.value, "stage": actor.stage, "tags": list(actor.tags)}


def _json(value: Any) -> Any:
    """As it goes over the wire: tuples become lists, string enums strings."""
    return json.loads(json.dumps(value))


def snapshot(state: GatheringState) -> dict[str, Any]:
    """What `room.join` answers the viewer, with fixed values where the server has live ones."""
    return _json({
        **live_view(state, viewer=VIEWER.person_id),
        "gathering": {"id": GATHERING_ID, "title": "Samling 3: Klimabudsjett", "number": 3,
                      "year": 2027, "theme": "Klimabudsjett i kommunene",
                      "starts_at": "2027-01-15T09:00:00+01:00", "planned_minutes": 120},
        "presence": [_person(FRIDA), _person(ALICE)],  # not in the versioned log
        "presence_rev": 2,
        "you": _person(VIEWER),
        "server_now": T0,
    })


def _command(command: c.Command) -> dict[str, Any]:
    """A command as decided: its type and fields (an update's unchanged ones left out)."""
    fields = {f.name: getattr(command, f.name) for f in dataclasses.fields(command)}
    given = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
             for k, v in fields.items() if not isinstance(v, p.Unchanged)}
    return _json({"type": command.type, **given})


class Gathering:
    """A gathering run by a script: a fake clock, who is present, and what was recorded."""

    def __init__(self) -> None:
        self.state = GatheringState(gathering_id=GATHERING_ID, agenda=AGENDA)
        self.now = T0
        self.present: list[Actor] = []
        self.initial = snapshot(self.state)
        self.view = live_view(self.state, viewer=VIEWER.person_id)
        self.steps: list[dict[str, Any]] = []

    def wait(self, seconds: float) -> None:
        self.now += seconds

    def context(self) -> Context:
        """What the server would gather for a decision (rooms/context.py), all of it."""
        participants = sorted((a for a in self.present if a.role is Role.PARTICIPANT),
                              key=lambda a: a.person_id)
        return Context(present=tuple(a.member for a in participants), stage_names=STAGE_NAMES,
                       here=frozenset(a.person_id for a in self.present),
                       theme_people=frozenset(a.person_id for a in THEME),
                       people=tuple(PersonRef(a.person_id, a.name, a.municipality)
                                    for a in THEME),
                       advance_questions=ADVANCE_QUESTIONS)

    def join(self, actor: Actor) -> list[Event]:
        self.present.append(actor)
        return self.do(actor, c.JoinRoom())

    def do(self, actor: Actor, command: c.Command) -> list[Event]:
        assert may_send(actor.role, command.type), f"{actor.name} may not {command.type}"
        new_state, events = decide(self.state, actor, command, self.now, self.context())
        assert events, f"{command.type} by {actor.name} changed nothing: the step is useless"
        # the log's round trip (rooms/store.py keeps `data()` as JSON) folds to the same state
        logged = [event_from(ev.type, _json(ev.data())) for ev in events]
        assert fold(self.state, logged) == new_state
        rows = []
        state = self.state
        for event in events:
            state = apply(state, event)
            wire = _json(StoredEvent(state.version, event.type, event.data())
                         .to_wire(GATHERING_ID))
            view = live_view(state, viewer=VIEWER.person_id)
            changed = {k: v for k, v in view.items() if self.view.get(k) != v}
            rows.append({"event": wire, "view": _json(changed)})
            self.view = view
        assert state == new_state
        self.steps.append({"by": actor.person_id, "at": self.now, "command": _command(command),
                           "events": rows})
        self.state = new_state
        return events


CHECKIN = PollPlan("Hvordan kommer du inn i dagen?", PollKind.SINGLE,
                   ("Uthvilt", "Sånn passe", "Trøtt"))


def script() -> Gathering:
    """One gathering, start to end: it reads best as one story."""
    g = Gathering()
    # --- the lobby: people arrive, the facilitator plans the agenda -------------------------
    g.join(ALICE)
    g.wait(30)
    g.join(FRIDA)
    g.wait(10)
    g.do(FRIDA, p.UseTemplate("standard"))  # items 3..9: welcome, talk, qa, break, ...
    g.do(FRIDA, p.UpdateItem(3, checkin_poll=CHECKIN))
    g.do(FRIDA, p.UpdateItem(4, title="Innlegg: klimabudsjett i praksis", expert_id=EVA.person_id))
    g.do(FRIDA, p.UpdateItem(5, expert_id=EVA.person_id, planned_minutes=12))
    g.do(FRIDA, p.UpdateItem(7, breakout=p.BreakoutChanges(group_size=2)))
    g.do(FRIDA, p.AddItem("plenary", "Runde rundt bordet", 10, position=2))  # item 10
    g.do(FRIDA, p.MoveItem(10, 5))
    g.do(FRIDA, p.RemoveItem(6))  # no break: [welcome, talk, qa, breakout, runde, plenary, end]
    g.do(FRIDA, q.QuestionSettings(anonymous_allowed=True))
    for actor in (BJORN, DINA, CARL, EVA):
        g.wait(20)
        g.join(actor)
    g.do(BJORN, q.AskQuestion("Hvordan får vi politikerne med på klimabudsjett?"))
    g.do(ALICE, c.SendChat("Hei alle sammen!"))
    g.wait(60)
    g.do(FRIDA, c.OpenRoom())

    # --- welcome: the check-in poll, hands, the timer -----------------------------------------
    g.do(FRIDA, c.NextItem(from_item=None))  # and its check-in poll
    welcome_started = g.now
    g.wait(15)
    g.do(ALICE, po.AnswerPoll(1, choices=(1,)))
    g.do(BJORN, po.AnswerPoll(1, choices=(0,)))
    g.do(CARL, po.AnswerPoll(1, choices=(2,)))
    g.wait(5)
    g.do(ALICE, po.AnswerPoll(1, choices=(0,)))  # she changes her answer
    g.wait(60)
    for actor in (BJORN, CARL, DINA):
        g.do(actor, c.RaiseHand())
    g.do(CARL, c.LowerHand())
    g.do(FRIDA, c.CallNextHand())  # Bjørn has the floor
    g.do(ALICE, c.RaiseHand())
    g.wait(90)
    g.do(FRIDA, st.TakeOffStage(BJORN.person_id))
    g.do(FRIDA, c.CallNextHand())  # Dina has the floor until the item ends
    g.wait(20)
    g.do(FRIDA, c.PauseItem())
    g.wait(30)
    g.do(FRIDA, c.ResumeItem())
    # planned 600 s + 30 paused: warned a minute before the deadline, and again after more time
    g.now = welcome_started + 630 - 50
    g.do(CLOCK, c.Tick())
    g.do(FRIDA, c.ExtendItem(minutes=2))
    g.now = welcome_started + 750 - 40
    g.do(CLOCK, c.Tick())

    # --- the expert's talk: the stage, recording, a word poll ---------------------------------
    g.wait(60)
    g.do(FRIDA, c.NextItem(from_item=3))  # Eva gets the stage; the check-in poll closes
    g.wait(30)
    g.do(EVA, r.GiveConsent())
    g.do(FRIDA, r.StartRecording())
    g.wait(300)
    g.do(FRIDA, r.StopRecording())
    g.wait(10)
    g.do(FRIDA, r.StartRecording())  # her consent holds for the item
    g.wait(200)
    g.do(EVA, r.WithdrawConsent())  # stops the recording too
    g.wait(60)
    g.do(FRIDA, po.LaunchPoll("Ett ord om klimabudsjett?", PollKind.WORD))
    g.wait(20)
    g.do(ALICE, po.AnswerPoll(2, word="Sol  Energi"))  # as typed (the page trims it)
    g.do(CARL, po.AnswerPoll(2, word="sol energi"))
    g.do(BJORN, po.AnswerPoll(2, word="Kraft"))
    g.wait(40)
    g.do(FRIDA, po.ClosePoll(2))
    g.wait(30)
    g.do(EVA, r.GiveConsent(include_qa=True))  # this time for her Q&A too
    g.do(FRIDA, r.StartRecording())
    g.wait(120)

    # --- questions and answers: she agreed to it, so the recording goes on --------------------
    g.do(FRIDA, c.NextItem(from_item=4))
    g.wait(20)
    g.do(ALICE, q.AskQuestion("Hva koster det egentlig?", anonymous=True))
    g.wait(10)
    g.do(CARL, q.AskQuestion("Finnes det støtteordninger for dette?"))
    g.do(ALICE, q.UpvoteQuestion(3))
    g.do(BJORN, q.UpvoteQuestion(2))
    g.do(DINA, q.UpvoteQuestion(2))
    g.do(ALICE, q.UpvoteQuestion(1))
    g.do(ALICE, q.UnvoteQuestion(1))
    g.wait(30)
    g.do(EVA, q.PickQuestion(3))
    g.wait(120)
    g.do(EVA, q.PickQuestion())  # the top-voted open one; question 3 is done
    g.wait(120)
    g.do(EVA, q.MarkAnswered(2))
    g.do(FRIDA, q.HideQuestion(1))
    g.do(FRIDA, q.BringAdvance())  # the questions asked before the day, with their votes
    g.wait(30)
    g.do(FRIDA, st.ClearStage())  # the recording stops with the stage
    g.do(FRIDA, st.Spotlight(CARL.person_id))
    # a quick round of groups by hand, before the breakout item
    g.do(FRIDA, b.ProposeBreakouts(rule=GroupingRule.RANDOM, group_size=2))
    g.do(FRIDA, b.RenameGroup("g1", "Sola"))
    g.do(FRIDA, b.MoveMember(DINA.person_id, "g1"))
    g.do(FRIDA, b.OpenBreakouts(minutes=5))
    g.wait(60)
    g.do(FRIDA, b.BroadcastToGroups("Ett minutt igjen"))
    g.wait(60)
    g.do(FRIDA, b.RecallBreakouts())
    g.wait(30)

    # --- the breakout item: groups by stage, late joiners, the groups' timer --------------------
    g.do(FRIDA, c.NextItem(from_item=5))
    breakout_started = g.now
    for actor in (LIV, MONS, NORA):  # the third finds every group full: a new group
        g.wait(40)
        g.join(actor)
    g.do(FRIDA, b.RenameGroup("g2", "Gjennomføring og drift"))
    g.do(FRIDA, b.MoveMember(BJORN.person_id, "g3"))
    g.wait(300)
    g.do(FRIDA, b.BroadcastToGroups("Ti minutter igjen"))
    g.do(FRIDA, c.ExtendItem(minutes=5))
    g.wait(60)
    g.do(FRIDA, c.PauseItem())
    g.wait(45)
    g.do(FRIDA, c.ResumeItem())
    deadline = breakout_started + 30 * 60 + 5 * 60 + 45
    g.now = deadline - 30
    g.do(CLOCK, c.Tick())  # the item's and the groups' one-minute warnings
    g.do(FRIDA, c.ExtendItem(minutes=3))  # more time: the warnings may come again
    deadline += 3 * 60
    g.now = deadline - 20
    g.do(CLOCK, c.Tick())
    g.now = deadline
    g.do(CLOCK, c.Tick())  # the groups' time is up: everyone back

    # --- a round in plenary, back to the groups for a moment, then the end ----------------------
    g.wait(30)
    g.do(FRIDA, c.NextItem(from_item=7))
    g.do(FRIDA, c.PreviousItem(from_item=10))  # the same groups open again
    g.wait(120)
    g.do(FRIDA, c.NextItem(from_item=7))  # and are called back
    g.do(ALICE, c.SendChat("Takk for gode innspill i gruppa!"))
    g.do(FRIDA, po.LaunchPoll("Hva tar dere med hjem?", PollKind.MULTIPLE,
                              ("Budsjettmal", "Kontakter", "Motivasjon")))
    g.do(ALICE, po.AnswerPoll(3, choices=(0, 2)))
    g.do(BJORN, po.AnswerPoll(3, choices=(1,)))
    g.do(FRIDA, p.AddItem("plenary", "Ekstra runde", 5))  # live: after the running item
    g.do(FRIDA, st.Spotlight(EVA.person_id))
    g.do(EVA, r.GiveConsent())
    g.do(FRIDA, r.StartRecording())
    g.wait(60)
    g.do(FRIDA, st.Spotlight(CARL.person_id))  # the recording stops with the stage
    g.wait(60)
    g.do(FRIDA, st.Spotlight(EVA.person_id))
    g.do(FRIDA, r.StartRecording())  # her consent for this item holds
    g.do(BJORN, c.RaiseHand())
    g.wait(600)
    g.do(FRIDA, c.EndGathering())  # stops the recording, lowers the hands; the poll stays
    g.wait(3600)
    g.do(FRIDA, n.ReopenNotes())
    g.wait(86400)
    g.do(FRIDA, n.CloseNotes())
    return g


def golden() -> dict[str, Any]:
    g = script()
    return {
        "about": "Generated by tests/facilitation/golden.py: do not edit. "
                 f"Regenerate with `{REGENERATE}`.",
        "event_types": sorted(EVENT_TYPES),
        "viewer": VIEWER.person_id,
        "initial": g.initial,
        "steps": g.steps,
    }


def render() -> str:
    return json.dumps(golden(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help=f"write {GOLDEN_PATH} (without it: print to stdout)")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        GOLDEN_PATH.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_PATH.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

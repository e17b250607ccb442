from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import FieldError, ValidationError
from django.core.management.base import (
    CommandError,
    CommandParser,
)
from django.db.models import QuerySet

from debate.ai_holders import AIHolder, ai_holders
from debate.management.formatted_help import FormattedHelpCommand
from debate.models import Question, Rules
from debate.protocol import Protocol
from debate.scheduling.plan import DEFAULT_MAX_DEBATING, DEFAULT_MAX_JUDGING, plan_as_text
from debate.scheduling.services import ScheduleRefused, schedule_create, schedule_preview

DESCRIPTION = """\
Create study sessions for a set of questions from a pool of participants (and AI agents for
debater seats), and say for every seat why its holder got it. A judge never judges a passage they
read, argued or judged before; a human debater or consultant has read the passage; nobody gets
more than --max-judging open judge seats or --max-debating open debater/consultant seats;
honesty, debater A/B and opponents are balanced per person; consultants are honest in exactly
half of the consultancies; answers are shown in a seeded random order.

If any session cannot be made, nothing is written and the problems say who was ruled out and why,
unless --partial asks for the sessions that can be made. --dry-run prints the plan only.

  schedule_sessions --questions passage__source=quality --group Study1 --protocol debate \\
      --protocol consultancy --max-judging 2 --max-debating 3 --seed 7 --dry-run
"""


class Command(FormattedHelpCommand):
    help = DESCRIPTION

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--questions",
            nargs="+",
            required=True,
            metavar="ID|LOOKUP",
            help="Question ids and/or Django lookups such as passage__source=quality (all apply).",
        )
        parser.add_argument(
            "--participants", nargs="+", default=[], metavar="USERNAME", help="Usernames."
        )
        parser.add_argument(
            "--group",
            action="append",
            default=[],
            metavar="NAME",
            help="Add the active members of this group to the participants (repeatable).",
        )
        parser.add_argument(
            "--agents", nargs="+", default=[], metavar="NAME", help="Agent names (debater seats)."
        )
        parser.add_argument(
            "--protocol",
            action="append",
            choices=[p.value for p in Protocol],
            dest="protocols",
            help="debate and/or consultancy (repeatable; default debate).",
        )
        parser.add_argument(
            "--per-question",
            type=int,
            default=1,
            metavar="N",
            help="Sessions per question and protocol (default 1).",
        )
        parser.add_argument(
            "--max-judging",
            type=int,
            default=DEFAULT_MAX_JUDGING,
            metavar="K",
            help=f"Open judge seats per person at most (default {DEFAULT_MAX_JUDGING}).",
        )
        parser.add_argument(
            "--max-debating",
            type=int,
            default=DEFAULT_MAX_DEBATING,
            metavar="M",
            help="Open debater or consultant seats per person at most "
            f"(default {DEFAULT_MAX_DEBATING}).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the plan (default 0).")
        parser.add_argument("--debate-rules", metavar="NAME", help="Default: paper-debate.")
        parser.add_argument(
            "--consultancy-rules", metavar="NAME", help="Default: paper-consultancy."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan with reasons; write nothing."
        )
        parser.add_argument(
            "--partial",
            action="store_true",
            help="Create the sessions that can be made even if others cannot.",
        )

    def handle(self, *args, **options) -> None:
        questions = list(_questions(options["questions"]))
        participants = _participants(options["participants"], options["group"])
        if not participants:
            raise CommandError("Name the participants with --participants or --group.")
        agents = _agents(options["agents"])
        inputs = {
            "questions": questions,
            "participants": participants,
            "agents": agents,
            "protocols": options["protocols"] or [Protocol.DEBATE.value],
            "per_question": options["per_question"],
            "max_judging": options["max_judging"],
            "max_debating": options["max_debating"],
            "seed": options["seed"],
        }
        try:
            if options["dry_run"]:
                self.stdout.write(plan_as_text(schedule_preview(**inputs)))
                self.stdout.write("Dry run: nothing written.")
                return
            result = schedule_create(
                **inputs,
                rules=_rules(options["debate_rules"], options["consultancy_rules"]),
                partial=options["partial"],
                via="command:schedule_sessions",
            )
        except ScheduleRefused as refused:
            self.stdout.write(plan_as_text(refused.plan))
            raise CommandError(f"{refused.message} Use --partial to create the rest.") from None
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(plan_as_text(result.plan))
        ids = ", ".join(str(s.pk) for s in result.sessions) or "none"
        count = len(result.sessions)
        self.stdout.write(f"Created {count} session{'' if count == 1 else 's'}: {ids}.")


def _questions(tokens: list[str]) -> QuerySet[Question]:
    ids = [t for t in tokens if t.isdigit()]
    lookups = dict(t.split("=", 1) for t in tokens if "=" in t)
    bad = [t for t in tokens if not t.isdigit() and "=" not in t]
    if bad:
        raise CommandError(f"Not a question id or a lookup: {', '.join(bad)}.")
    found = Question.objects.select_related("passage").order_by("pk")
    if ids:
        found = found.filter(pk__in=ids)
        missing = sorted(set(map(int, ids)) - set(found.values_list("pk", flat=True)), key=int)
        if missing:
            raise CommandError(f"No question with id {', '.join(map(str, missing))}.")
    try:
        found = found.filter(**lookups)
        if not found.exists():
            raise CommandError("No question matches --questions.")
    except (FieldError, ValueError, ValidationError) as error:
        raise CommandError(f"Bad question lookup: {error}") from None
    return found


def _participants(usernames: list[str], groups: list[str]) -> list[User]:
    User = get_user_model()
    users = {u.get_username(): u for u in User.objects.filter(username__in=usernames)}
    missing = [name for name in usernames if name not in users]
    if missing:
        raise CommandError(f"No user named {', '.join(missing)}.")
    inactive = [name for name, u in users.items() if not u.is_active]
    if inactive:
        raise CommandError(f"Inactive user(s): {', '.join(inactive)}.")
    for group in groups:
        members = User.objects.filter(groups__name=group)
        if not members.exists():
            raise CommandError(f"No group named {group!r}, or it has no members.")
        users.update({u.get_username(): u for u in members.filter(is_active=True)})
    return sorted(users.values(), key=lambda u: u.pk)


def _agents(names: list[str]) -> list[AIHolder]:
    agents = {a.name: a for a in ai_holders() if a.name in names}
    missing = [name for name in names if name not in agents]
    if missing:
        raise CommandError(f"No agent named {', '.join(missing)}.")
    return sorted(agents.values(), key=lambda a: a.pk)


def _rules(debate: str | None, consultancy: str | None) -> dict[Protocol, Rules]:
    chosen = {}
    for protocol, name in ((Protocol.DEBATE, debate), (Protocol.CONSULTANCY, consultancy)):
        if name:
            try:
                chosen[protocol] = Rules.objects.get(name=name)
            except Rules.DoesNotExist:
                raise CommandError(f"No rules named {name!r}.") from None
    return chosen

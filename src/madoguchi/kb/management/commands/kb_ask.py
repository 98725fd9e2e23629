"""``madoguchi manage kb_ask "..."``: ask the bot as a requester would and log the
question like the chat does (to try the bot, or to seed the unanswered-questions page)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from madoguchi.kb.learning import record_question
from madoguchi.kb.search import engine


class Command(BaseCommand):
    help = "Ask the answer bot as a requester and record the question in the bot's question log."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("question")
        parser.add_argument(
            "--lang", choices=("ja", "en"), help="language of the question (default: detected)"
        )
        parser.add_argument("--channel", default="cli", help="channel recorded with the question")

    def handle(self, *args: Any, **options: Any) -> None:
        decision = engine().ask(options["question"], lang=options["lang"], audience="requester")
        row = record_question(
            options["question"], decision.lang, decision, channel=options["channel"]
        )
        self.stdout.write(
            json.dumps(
                {**decision.as_dict(), "logged": row.pk if row else None}, ensure_ascii=False
            )
        )

"""The ``madoguchi`` command.

madoguchi serve [--host H] [--port P] [--no-demo] [--processes N]   run the desk (embedded: migrates first)
madoguchi worker [--interval S]                       run background tasks (scaled mode)
madoguchi demo                                        load demo data into an empty database
madoguchi migrate                                     apply database migrations
madoguchi mail ingest [--mailbox A] < msg.eml         take one message from a pipe (prints JSON)
madoguchi mail receive [--host H] [--port P] [--smtp] run the LMTP (or SMTP) receiver
madoguchi mail fetch                                  fetch once from the IMAP mailboxes
madoguchi mail retry                                  retry pending outgoing mail now
madoguchi kb import FILE.jsonl | import-markdown PATH | export [FILE]
madoguchi retention [--dry-run]                       apply the retention rules now (a dry run counts)
madoguchi stats [--from D] [--to D] --by F[,F] [--format csv|json]   suppressed counts
madoguchi hours ... / madoguchi bot ...               see ``madoguchi hours --help`` etc.
madoguchi manage ARGS...                              any Django management command
"""

from __future__ import annotations

import argparse
import os
import sys


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _print_accounts(accounts: list[tuple[str, str, str]]) -> None:
    if not accounts:
        return
    print("Demo accounts / デモ用アカウント (user / password / role):")
    for user, password, role in accounts:
        print(f"  {user:10} {password:16} {role}")


def cmd_demo(args: argparse.Namespace) -> int:
    _setup()
    from madoguchi.demo import load_demo, read_demo_accounts

    if args.migrate:
        _migrate()
    created = load_demo()
    _print_accounts(created or read_demo_accounts())
    return 0


def _port_taken(host: str, port: int) -> OSError | None:
    """Whether ``host:port`` cannot be served (checked before anything is printed or
    migrated, so that a busy port is said plainly instead of failing after "running at")."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    problem = _port_taken(args.host, args.port)
    if problem is not None:
        print(
            f"madoguchi cannot listen on {args.host}:{args.port}: {problem.strerror or problem}.\n"
            f"Another program (or another madoguchi) may be using the port. Choose another one,"
            f" e.g. scripts/run --port {args.port + 80} (or madoguchi serve --port {args.port + 80}).",
            file=sys.stderr,
        )
        return 2
    _setup()
    import uvicorn
    from django.conf import settings

    if args.processes > 1 and (settings.EMBEDDED or not settings.REDIS_URL):
        print(
            "madoguchi serve --processes needs the scaled mode: DATABASE_URL (PostgreSQL) and"
            " REDIS_URL, so that the processes share the database and live events"
            " (see docs/install.md).",
            file=sys.stderr,
        )
        return 2
    if settings.EMBEDDED or args.migrate:
        _migrate()
    if args.demo:
        from madoguchi.demo import load_demo, read_demo_accounts

        created = load_demo()
        _print_accounts(created or read_demo_accounts())
    if settings.EMBEDDED_WORKER:
        from madoguchi.core.worker import start_in_thread, start_sweeper

        start_in_thread()
        start_sweeper()
    host = args.host
    shown = f"[{host}]" if ":" in host else host
    if not os.environ.get("MADOGUCHI_SITE_URL"):
        # Links in mails point at where this process actually serves.
        settings.SITE_URL = (
            f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{args.port}"  # noqa: S104
        )
        os.environ["MADOGUCHI_SITE_URL"] = settings.SITE_URL  # for --processes' children too
    print(
        f"madoguchi is running at http://{shown}:{args.port}/  (console: /console/, admin: /admin/)"
    )
    print(
        f'chat widget for your pages: <script src="http://{shown}:{args.port}/widget.js" async></script>'
        "  (allow the site in MADOGUCHI_CHAT_WIDGET_ORIGINS; see docs/chat.md)"
    )
    print(f"data directory: {settings.DATA_DIR}")
    if settings.EMAIL_BACKEND.endswith(("filebased.EmailBackend", "spool.EmailBackend")):
        print(f"outgoing mail is written to {settings.EMAIL_FILE_PATH} (set EMAIL_HOST to send it)")
    sys.stdout.flush()
    uvicorn.run(
        "madoguchi.asgi:application",
        host=host,
        port=args.port,
        log_level=os.environ.get("MADOGUCHI_SERVER_LOG_LEVEL", "warning"),
        ws_max_size=64 * 1024,
        # The same proxies as core.ratelimit.client_address (for X-Forwarded-Proto too).
        proxy_headers=bool(settings.TRUSTED_PROXIES),
        forwarded_allow_ips=[str(net) for net in settings.TRUSTED_PROXIES] or None,
        lifespan="off",
        # Several processes on one port (the kernel spreads the connections; live events
        # between them go through Redis): one per core, see docs/install.md.
        workers=args.processes if args.processes > 1 else None,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from madoguchi.core.worker import Supervisor, run_until_idle, start_sweeper, worker_id

    if args.once:
        run_until_idle()
        return 0
    start_sweeper()
    # Supervised: an error restarts the loop after a back-off instead of ending the process.
    supervisor = Supervisor(worker_id=worker_id("worker"), interval=args.interval, embedded=False)
    supervisor.handle_signals()
    supervisor.run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    _migrate(verbosity=1)
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    _setup()
    import json

    from madoguchi.mail import outbox

    if args.mail_command == "retry":
        print(outbox.retry_now())
        return 0
    if args.mail_command == "ingest":
        from madoguchi.inbound import ingest

        raw = sys.stdin.buffer.read()
        try:
            result = ingest.ingest(raw, mailbox_address=args.mailbox)
        except Exception as exc:  # could not even store it: the MTA must keep the message
            print(
                json.dumps(
                    {
                        "action": "rejected",
                        "reference": None,
                        "reason": f"not stored: {type(exc).__name__}",
                    }
                )
            )
            return 75  # EX_TEMPFAIL: the MTA retries later
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        return 0
    if args.mail_command == "receive":
        import time

        from madoguchi.inbound.receiver import make_controller

        controller = make_controller(args.host, args.port, lmtp=not args.smtp)
        controller.start()
        print(
            f"{'SMTP' if args.smtp else 'LMTP'} receiver listening on {args.host}:{args.port}",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            controller.stop()
        return 0
    if args.mail_command == "fetch":
        from madoguchi.inbound import imap

        for report in imap.fetch_all():
            print(json.dumps(report.__dict__))
        return 0
    return 2


def cmd_kb(args: argparse.Namespace) -> int:
    _setup()
    import json
    from pathlib import Path

    from madoguchi.kb import actions

    if args.kb_command == "import":
        with open(args.path, encoding="utf-8", errors="replace") as handle:
            report = actions.import_jsonl(handle)
    elif args.kb_command == "import-markdown":
        from madoguchi.kb.markdown_import import read_path

        lines = [
            json.dumps(e, ensure_ascii=False) for e in read_path(Path(args.path), lang=args.lang)
        ]
        report = actions.import_jsonl(lines)
    else:
        text = "\n".join(actions.export_jsonl()) + "\n"
        if args.path and args.path != "-":
            Path(args.path).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0 if not report.errors else 1


def cmd_retention(args: argparse.Namespace) -> int:
    _setup()
    import json

    from madoguchi.retention import policy

    record = policy.run(dry_run=args.dry_run)
    print(json.dumps({"run": record.pk, "dry_run": record.dry_run, **record.counts}))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from madoguchi.stats import cli as stats_cli

    problem = stats_cli.check(args)
    if problem:
        print(f"madoguchi stats: error: {problem}", file=sys.stderr)
        return 2
    _setup()
    return stats_cli.run(args)


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["madoguchi manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="madoguchi", description="madoguchi support desk")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the desk")
    p.add_argument("--host", default=os.environ.get("MADOGUCHI_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MADOGUCHI_PORT", "8000")))
    p.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="load demo data first (if the database is empty)",
    )
    p.add_argument(
        "--migrate", action="store_true", help="apply migrations even in the scaled mode"
    )
    p.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("MADOGUCHI_PROCESSES", "1")),
        help="server processes on this port (scaled mode only; one per core)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run background tasks")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--once", action="store_true", help="run what is ready, then exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="load demo data")
    p.add_argument("--no-migrate", dest="migrate", action="store_false")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "mail", help="mail: ingest (pipe), receive (LMTP/SMTP), fetch (IMAP), retry (outbox)"
    )
    p.add_argument("mail_command", choices=["ingest", "receive", "fetch", "retry"])
    p.add_argument("--mailbox", help="ingest: the address the message was delivered to")
    p.add_argument("--host", default="127.0.0.1", help="receive: address to listen on")
    p.add_argument("--port", type=int, default=8024, help="receive: port to listen on")
    p.add_argument("--smtp", action="store_true", help="receive: speak SMTP instead of LMTP")
    p.set_defaults(func=cmd_mail)

    p = sub.add_parser(
        "kb", help="knowledge base: import FILE.jsonl, import-markdown PATH, export [FILE]"
    )
    p.add_argument("kb_command", choices=["import", "import-markdown", "export"])
    p.add_argument("path", nargs="?", default="-")
    p.add_argument(
        "--lang", default="ja", choices=["ja", "en"], help="import-markdown: the pages' language"
    )
    p.set_defaults(func=cmd_kb)

    p = sub.add_parser("retention", help="apply the retention rules (anonymise, delete files)")
    p.add_argument(
        "--dry-run", action="store_true", help="count what would be done; change nothing"
    )
    p.set_defaults(func=cmd_retention)

    from madoguchi.stats import cli as stats_cli

    p = sub.add_parser(
        "stats", help="counts of inquiries with small counts suppressed (CSV or JSON)"
    )
    stats_cli.add_arguments(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("manage", help="a Django management command", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def _has_database() -> bool:
    from pathlib import Path

    data_dir = Path(os.environ.get("MADOGUCHI_DATA_DIR", Path.cwd() / "madoguchi-data"))
    return bool(os.environ.get("DATABASE_URL")) or (data_dir / "madoguchi.sqlite3").exists()


PURE_COMMANDS = {"hours": "madoguchi.hours.cli", "bot": "madoguchi.bot.cli"}


def main(argv: list[str] | None = None) -> int:
    from madoguchi.core.files import private_umask
    from madoguchi.dotenv import load_dotenv

    private_umask()  # every file the desk writes (SQLite journals, spool, uploads) is 0600
    load_dotenv()  # before the defaults below read MADOGUCHI_HOST/PORT
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PURE_COMMANDS:
        import importlib

        if argv[0] == "hours" and _has_database():
            _setup()  # schedules edited by the administrator live in the database
        if (
            argv[0] == "bot"
            and "--corpus" not in argv
            and not os.environ.get("MADOGUCHI_BOT_CORPUS")
            and _has_database()
        ):
            _setup()  # answer from the knowledge base
            from madoguchi.bot import cli as bot_cli
            from madoguchi.kb.provider import articles_from_database, rules_from_database

            bot_cli.get_articles = lambda corpus: articles_from_database()
            bot_cli.get_rules = rules_from_database

        module = importlib.import_module(PURE_COMMANDS[argv[0]])
        return int(module.main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``clinicflow`` operator command: staff tokens for local runs, topics, dead letters, status, event schemas,
and the pathway demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from clinicflow.shared.acls import catalogue_acls
from clinicflow.shared.auth import ROLES
from clinicflow.shared.catalogue import all_topics
from clinicflow.shared.kafka import create_acls, ensure_topics, read_dead_letters, replay_dead_letter
from clinicflow.shared.operations import SERVICE_SCHEMAS, operations_status
from clinicflow.shared.schemas import export_schemas
from clinicflow.shared.settings import AuthSettings, DatabaseSettings, KafkaSettings


def _token(args: argparse.Namespace) -> None:
    try:
        from clinicflow.localinfra.tokens import mint_token
    except ImportError:
        sys.exit("tokens are minted by the identity provider; `token` comes with the development install (make run)")
    secret = AuthSettings().jwt_secret
    if secret is None:
        sys.exit("AUTH_JWT_SECRET is not set (make run prints it)")
    print(mint_token(secret.get_secret_value(), staff_id=args.staff_id, roles=args.role))


def _topics(_args: argparse.Namespace) -> None:
    created = asyncio.run(ensure_topics(KafkaSettings(), all_topics()))
    print(f"created {len(created)} topics" + "".join(f"\n  {t}" for t in created))


def _acls(args: argparse.Namespace) -> None:
    settings = KafkaSettings()
    acls = catalogue_acls(settings.topic_prefix)
    for acl in acls:
        print(f"{acl.principal}\t{acl.operation}\t{acl.resource_type}\t{acl.resource_name}")
    if args.apply:
        asyncio.run(create_acls(settings, acls))
        print(f"applied {len(acls)} rules", file=sys.stderr)


def _dlq_list(args: argparse.Namespace) -> None:
    letters = asyncio.run(read_dead_letters(KafkaSettings(), args.topic))
    for letter in letters:
        reason = letter.headers.get("dlq_reason", "?")
        detail = letter.headers.get("dlq_detail", "")
        source = f"{letter.headers.get('dlq_source_topic')}[{letter.headers.get('dlq_source_partition')}]" \
                 f"@{letter.headers.get('dlq_source_offset')}"
        print(f"{letter.partition}\t{letter.offset}\t{reason}\t{source}\t{detail}")
    print(f"{len(letters)} dead letters in {args.topic}", file=sys.stderr)


def _dlq_replay(args: argparse.Namespace) -> None:
    source = asyncio.run(
        replay_dead_letter(KafkaSettings(), args.topic, partition=args.partition, offset=args.offset)
    )
    print(f"replayed {args.topic}[{args.partition}]@{args.offset} to {source}")


def _status(_args: argparse.Namespace) -> None:
    kafka, database = KafkaSettings(), DatabaseSettings()
    report = asyncio.run(operations_status(kafka, database.url.get_secret_value(), SERVICE_SCHEMAS))
    print(f"{'service':<15}{'outbox backlog':>15}{'consumer lag':>14}")
    for service, (backlog, lag) in report.items():
        print(f"{service:<15}{backlog if backlog is not None else '-':>15}{lag if lag is not None else '-':>14}")


def _demo(_args: argparse.Namespace) -> None:
    try:
        from clinicflow.localinfra.demo import run_demo
    except ImportError:
        sys.exit("the demo comes with the development install (make run)")
    asyncio.run(run_demo())


def _bench(args: argparse.Namespace) -> None:
    try:
        from clinicflow.localinfra.bench import run_bench
    except ImportError:
        sys.exit("the benchmark comes with the development install (make run)")
    asyncio.run(run_bench(enquiries=args.enquiries, pathways=args.pathways, concurrency=args.concurrency,
                          output=Path(args.output), plot=Path(args.plot) if args.plot else None))


def _register_verify(_args: argparse.Namespace) -> None:
    try:
        from clinicflow.register.verify import verify_register
    except ImportError:
        sys.exit("`register verify` needs the register service installed (clinicflow-register)")
    schema = os.environ.get("REGISTER_DB_SCHEMA", "register")
    verdicts = asyncio.run(verify_register(DatabaseSettings().url.get_secret_value(), schema))
    for verdict in verdicts:
        if verdict.broken is None:
            print(f"ok\t{verdict.product}\t{verdict.entries} entries")
        else:
            print(f"BROKEN\t{verdict.product}\tentry {verdict.broken.seq}: {verdict.broken.why}")
    if any(v.broken for v in verdicts):
        sys.exit(f"the register's hash chain is broken on {sum(1 for v in verdicts if v.broken)} page(s)")


def _schemas(_args: argparse.Namespace) -> None:
    for path in export_schemas():
        print(path)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``clinicflow`` command."""
    parser = argparse.ArgumentParser(prog="clinicflow", description=__doc__)
    commands = parser.add_subparsers(required=True)

    token = commands.add_parser("token", help="print a staff bearer token (HS256, AUTH_JWT_SECRET)")
    token.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
    token.add_argument("--staff-id", required=True)
    token.set_defaults(run=_token)

    commands.add_parser("topics", help="create every topic and its dead-letter topic").set_defaults(run=_topics)

    acls = commands.add_parser("acls", help="each service's Kafka access rules, from the event catalogue")
    acls.add_argument("--apply", action="store_true", help="create them on the broker (as an ACL administrator)")
    acls.set_defaults(run=_acls)

    dlq = commands.add_parser("dlq", help="dead letters").add_subparsers(required=True)
    dlq_list = dlq.add_parser("list", help="list a dead-letter topic (reasons, never bodies)")
    dlq_list.add_argument("topic", help="e.g. enquiry.received.v1.dlq")
    dlq_list.set_defaults(run=_dlq_list)
    replay = dlq.add_parser("replay", help="publish one dead letter back to its source topic")
    replay.add_argument("topic")
    replay.add_argument("--partition", type=int, required=True)
    replay.add_argument("--offset", type=int, required=True)
    replay.set_defaults(run=_dlq_replay)

    register = commands.add_parser("register", help="the controlled-drugs register").add_subparsers(required=True)
    register.add_parser("verify", help="recompute every page's hash chain; name the first broken link (exit 1)"
                        ).set_defaults(run=_register_verify)

    commands.add_parser("schemas", help="write the events' JSON Schemas to shared/").set_defaults(run=_schemas)
    commands.add_parser("status", help="outbox backlog and consumer lag per service").set_defaults(run=_status)
    commands.add_parser("demo", help="walk a synthetic client through the pathway on a running system"
                        ).set_defaults(run=_demo)
    bench = commands.add_parser("bench", help="throughput and latency of a running system beside raw Kafka/PostgreSQL")
    bench.add_argument("--enquiries", type=int, default=300)
    bench.add_argument("--pathways", type=int, default=10)
    bench.add_argument("--concurrency", type=int, default=20)
    bench.add_argument("--output", default="bench.json")
    bench.add_argument("--plot", default=None, help="also draw latency against load to this PNG or SVG file")
    bench.set_defaults(run=_bench)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()

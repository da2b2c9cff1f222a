"""The ``bioimg`` command line.

Each subcommand lives in its own module exposing ``register(subparsers)``,
which adds an argparse sub-parser whose ``func(args) -> int`` runs it.
Bad input (``CLIError``, ``ValueError``, ``OSError``) exits with code 2 and a
one-line message naming the problem; no traceback is shown to the user.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules are imported lazily by name so `bioimg --help` stays fast and a
# broken optional dependency only affects its own subcommand.
_COMMAND_MODULES = (
    "bioimg.cli.demo",
    "bioimg.cli.demo_engine",
    "bioimg.cli.train",
    "bioimg.cli.predict",
    "bioimg.cli.denoise",
    "bioimg.cli.info",
    "bioimg.cli.preprocess",
    "bioimg.cli.evaluate",
    "bioimg.cli.export",
)
# Front ends (the napari plugin's ``gui``) add subcommands through this entry-point
# group, so this package never imports them.
ENTRY_POINT_GROUP = "bioimg.commands"


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from bioimg import __version__

    parser = argparse.ArgumentParser(
        prog="bioimg", description="Train and apply image-analysis models on microscopy and MRI stacks.")
    parser.add_argument("--version", action="version", version=f"bioimg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subcommand not built yet
                continue
            raise
        module.register(sub)
    for ep in _plugin_commands():
        try:
            ep.load()(sub)
        except ImportError:  # a broken optional front end must not break the CLI
            continue
    return parser


def _plugin_commands():
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bioimg`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("bioimg: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, OSError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"bioimg {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

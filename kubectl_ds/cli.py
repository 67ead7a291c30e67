"""The `kubectl ds` command line. Nothing here connects to a cluster or imports the client."""

from __future__ import annotations

import os
import sys

import click

from kubectl_ds import __version__
from kubectl_ds.commands.diff import diff
from kubectl_ds.commands.dump import dump
from kubectl_ds.commands.footprint import footprint
from kubectl_ds.commands.lint import lint
from kubectl_ds.commands.migrate import migrate
from kubectl_ds.commands.rollout import rollout
from kubectl_ds.commands.why import why
from kubectl_ds.env import Env
from kubectl_ds.errors import DsError, ExitCode
from kubectl_ds.options import DUMP_COMMAND, global_options
from kubectl_ds.render.common import printable

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# the root --help's one list of commands, in this order, each with how it is called
COMMANDS = (
    (why, "why NODE", "would each DaemonSet run on NODE, and if not, exactly why"),
    (diff, "diff [NAME]", "desired nodes against actual pods: missing, misscheduled, duplicates..."),
    (lint, "lint [NAME]", "the classic DaemonSet mistakes (also on manifests, -f), each with its fix"),
    (footprint, "footprint", "requests and limits of DaemonSets times the nodes they cover, and per node"),
    (rollout, "rollout NAME", "follow a rollout node by node, and say why it is stuck (history: revisions)"),
    (migrate, "migrate NAME", "change a DaemonSet's immutable selector without losing a pod (resumable)"),
    (dump, "dump", "write what kubectl-ds reads to one file for --snapshot (--anonymize for a bug report)"),
)
EPILOG = f"""\b
A dump for --snapshot FILE (JSON or YAML, gzip, a directory, a kubectl cluster-info dump, a,b,...):
  kubectl ds dump > FILE
or, without the plugin at hand:
  {DUMP_COMMAND} > FILE
"""


class _Root(click.Group):
    """Lists its commands once, as COMMANDS describes them (not click's truncated docstrings)."""

    def list_commands(self, ctx):
        return [cmd.name for cmd, _, _ in COMMANDS]

    def format_options(self, ctx, formatter) -> None:
        self.format_commands(ctx, formatter)     # the commands first, then the global flags
        click.Command.format_options(self, ctx, formatter)

    def format_commands(self, ctx, formatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(usage, text) for _, usage, text in COMMANDS])


@click.group(cls=_Root, context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@click.version_option(__version__, "--version", prog_name="kubectl-ds", message="%(prog)s %(version)s")
@global_options
@click.pass_context
def root(ctx, **kwargs):
    """Answer the questions people have about DaemonSets."""
    if ctx.obj is None:
        ctx.obj = Env()
    ctx.meta["kubectl_ds.options"] = {k: v for k, v in kwargs.items() if v is not None}


for command, _, _ in COMMANDS:
    root.add_command(command)


def main(argv=None, obj=None) -> None:
    """Entry point: runs the CLI, turning every expected failure into one `error:` line (its
    control characters escaped: a newline or an ESC from the data cannot break it or the terminal).

    `obj` is the Env (tests pass one with a fixed clock); None builds the real one.
    """
    try:
        rc = root.main(args=argv, prog_name="kubectl ds", standalone_mode=False, obj=obj)
    except DsError as err:
        click.echo(f"error: {printable(err.message)}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Exit as ex:
        sys.exit(ex.exit_code)
    except click.ClickException as err:
        click.echo(f"error: {printable(err.format_message())}", err=True)
        sys.exit(ExitCode.CANNOT_ANSWER)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(ExitCode.CANNOT_ANSWER)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as err:  # noqa: BLE001 - a bug: still one line, the traceback on request
        if os.environ.get("KUBECTL_DS_DEBUG"):
            raise
        click.echo(f"error: internal error: {type(err).__name__}: {printable(err)} "
                   "(set KUBECTL_DS_DEBUG=1 for a traceback, and please report it)", err=True)
        sys.exit(ExitCode.CANNOT_ANSWER)
    sys.exit(rc or 0)

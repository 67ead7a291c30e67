"""Shell completion for `kubectl ds`, the way kubectl completes plugins (kubectl 1.26+).

On `kubectl ds why wor<TAB>`, kubectl runs `kubectl_complete-ds why wor` (the plugin's words, the
last one being the word under the cursor, "" for a new word) and reads one candidate a line, an
optional `<TAB>description`, and a last line `:<cobra ShellCompDirective>`.

Subcommands and flags come from the click command tree (so new commands complete with no change
here); names come from the cluster, or from the dump given with --snapshot on the same line,
honouring --kubeconfig, --context, -n/--namespace and -A on the line. A cluster lookup has a hard
deadline (2 s, $KUBECTL_DS_COMPLETION_TIMEOUT) that starts once the client is imported: a slow or
unreachable apiserver yields no names, never a hung shell. Nothing here imports the kubernetes
client unless a live name is needed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import click

# cobra's ShellCompDirective bits (github.com/spf13/cobra completions.go)
ERROR, NO_SPACE, NO_FILE, FILTER_FILE_EXT, FILTER_DIRS, KEEP_ORDER = 1, 2, 4, 8, 16, 32
DEFAULT_TIMEOUT = 2.0
SNAPSHOT_EXTENSIONS = ["json", "yaml", "yml"]

# what a positional argument or an option value names, by click parameter name
NAME_KINDS = {"node_name": "nodes", "node": "nodes", "ds_name": "daemonsets", "daemonset": "daemonsets",
              "name": "daemonsets", "namespace": "namespaces", "context": "contexts"}
FILE_PARAMS = {"kubeconfig": [], "snapshot": SNAPSHOT_EXTENSIONS}

Completions = Tuple[List[str], int]
_WORKER = "kubectl-ds-completion"


@dataclass
class Line:
    """What the words before the cursor say: the command reached, its options, its positionals."""
    command: click.Command
    chain: List[click.Command]
    values: Dict[str, Any] = field(default_factory=dict)   # click parameter name -> str, or bool for a flag
    positionals: List[str] = field(default_factory=list)
    pending: Optional[click.Option] = None   # an option still waiting for its value
    dashdash: bool = False


def complete(words: List[str], incomplete: str, timeout: float = DEFAULT_TIMEOUT,
             root: Optional[click.Group] = None) -> Completions:
    """Candidates and a cobra directive for `incomplete`, given the words before it."""
    if root is None:
        from kubectl_ds.cli import root as cli_root
        root = cli_root
    line = parse(root, words)
    if line.pending is not None:
        return option_value(line, line.pending, incomplete, timeout)
    if incomplete.startswith("-") and not line.dashdash:
        name, eq, value = incomplete.partition("=")
        if eq:
            opt = find_option(line, name)
            if opt is None or opt.is_flag:
                return [], NO_FILE
            comps, directive = option_value(line, opt, value, timeout)
            return [f"{name}={c}" for c in comps], directive
        return option_names(line, incomplete), NO_FILE
    return positional(line, incomplete, timeout)


def parse(root: click.Group, words: List[str]) -> Line:
    """Walk the words through the click tree as click itself would, without running anything."""
    line = Line(command=root, chain=[root])
    for word in words:
        if line.pending is not None:
            line.values[line.pending.name] = word
            line.pending = None
        elif word == "--":
            line.dashdash = True
        elif word.startswith("-") and len(word) > 1 and not line.dashdash:
            _take_option(line, word)
        elif isinstance(line.command, click.Group) and word in line.command.commands:
            line.command = line.command.commands[word]
            line.chain.append(line.command)
        elif isinstance(line.command, click.Group) and (default := getattr(line.command, "default_command_name", None)):
            line.command = line.command.commands[default]
            line.chain.append(line.command)
            line.positionals.append(word)
        else:
            line.positionals.append(word)
    return line


def _take_option(line: Line, word: str) -> None:
    name, eq, value = word.partition("=")
    opt = find_option(line, name)
    if opt is None and not word.startswith("--"):   # -nkube-system: a short option and its value
        name, value, eq = word[:2], word[2:], "="
        opt = find_option(line, name)
    if opt is None:
        return
    if opt.is_flag or opt.count:
        line.values[opt.name] = name not in opt.secondary_opts
    elif eq:
        line.values[opt.name] = value
    else:
        line.pending = opt


def _options(line: Line) -> List[click.Option]:
    """The options the command reached accepts: its own, then its parents' (global options)."""
    seen, out = set(), []
    for cmd in reversed(line.chain):
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name not in seen:
                seen.add(p.name)
                out.append(p)
    return out


def find_option(line: Line, name: str) -> Optional[click.Option]:
    for opt in _options(line):
        if name in opt.opts or name in opt.secondary_opts:
            return opt
    return None


def option_names(line: Line, incomplete: str) -> List[str]:
    out = []
    own = [p for p in line.command.params if isinstance(p, click.Option)]
    for opt in own + [_help_option()]:
        if getattr(opt, "hidden", False):
            continue
        for spelling in opt.opts + opt.secondary_opts:
            if spelling.startswith(incomplete):
                out.append(_described(spelling, opt.help))
    return sorted(set(out), key=lambda c: (c.lstrip("-").lower(), c))


def _help_option() -> click.Option:
    return click.Option(["-h", "--help"], is_flag=True, help="Show the help and exit.")


def _described(candidate: str, help_text: Optional[str]) -> str:
    first = (help_text or "").strip().split("\n")[0]
    return f"{candidate}\t{first}" if first else candidate


def option_value(line: Line, opt: click.Option, incomplete: str, timeout: float) -> Completions:
    if opt.name in FILE_PARAMS:
        exts = FILE_PARAMS[opt.name]
        return (list(exts), FILTER_FILE_EXT) if exts else ([], 0)
    if isinstance(opt.type, click.Choice):
        return [c for c in opt.type.choices if c.startswith(incomplete)], NO_FILE
    if opt.name == "output":
        from kubectl_ds.options import formats_of
        return [f for f in formats_of(line.command) if f.startswith(incomplete)], NO_FILE
    if opt.name == "contexts":   # a comma list: complete its last name (^ excludes it)
        head, _, last = incomplete.rpartition(",")
        mark = "^" if last.startswith("^") else ""
        prefix = (head + "," if head else "") + mark
        return [prefix + n for n in kubeconfig_contexts(line.values.get("kubeconfig"))
                if n.startswith(last[len(mark):])], NO_FILE
    kind = NAME_KINDS.get(opt.name)
    if kind is None:
        return [], NO_FILE
    if kind == "daemonsets" and line.command.name == "why":
        kind = "any-daemonsets"   # why -d NAME looks in every namespace unless -n says which
    return names(kind, line, incomplete, timeout), NO_FILE


def positional(line: Line, incomplete: str, timeout: float) -> Completions:
    cmd = line.command
    if isinstance(cmd, click.Group) and not line.dashdash:
        subs = [_described(n, c.get_short_help_str(limit=60)) for n, c in sorted(cmd.commands.items())
                if n.startswith(incomplete) and not c.hidden]
        default = getattr(cmd, "default_command_name", None)
        if default:
            sub_line = Line(command=cmd.commands[default], chain=line.chain + [cmd.commands[default]],
                            values=line.values)
            return subs + positional(sub_line, incomplete, timeout)[0], NO_FILE
        return subs, NO_FILE
    arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
    index = len(line.positionals)
    if not arguments:
        return [], NO_FILE
    arg = arguments[index] if index < len(arguments) else arguments[-1] if arguments[-1].nargs == -1 else None
    kind = NAME_KINDS.get(arg.name) if arg is not None else None
    if kind is None:
        return [], NO_FILE
    return names(kind, line, incomplete, timeout), NO_FILE


def names(kind: str, line: Line, incomplete: str, timeout: float) -> List[str]:
    """Names of `kind` starting with `incomplete`, from the snapshot or the cluster; [] past the deadline."""
    v = line.values
    found: Optional[List[str]]
    if kind == "contexts":
        found = kubeconfig_contexts(v.get("kubeconfig"))
    else:
        if not v.get("snapshot"):
            _import_client()   # local CPU time (compiling it, the first time): not the cluster's
            found = with_deadline(lambda: _lookup(kind, v, timeout), timeout)
        else:   # parsing a large dump holds the interpreter: a child process is killed at the deadline
            found = in_child(lambda: _lookup(kind, v, timeout), timeout)
    # a name with a control character (a tab, a newline, an ESC) cannot be one candidate line:
    # left out, never written to the shell
    return sorted({n for n in found or () if isinstance(n, str) and n.startswith(incomplete) and _safe(n)})


def _safe(text: str) -> bool:
    from kubectl_ds.render.common import printable
    return printable(text) == text


def output_lines(comps: List[str]) -> List[str]:
    """One line per candidate, as cobra reads them: `value` or `value<TAB>description`. A value
    with a control character in it is dropped; a description has its control characters escaped."""
    from kubectl_ds.render.common import printable
    out = []
    for c in comps:
        value, tab, description = c.partition("\t")
        if not value or not _safe(value):
            continue
        out.append(value + (f"\t{printable(description)}" if tab else ""))
    return out


def _import_client() -> None:
    try:
        import kubectl_ds.source.live  # noqa: F401
        from kubectl_ds.source.client import api, load
        load()
        import kubernetes.config  # noqa: F401
        api("CoreV1Api"), api("AppsV1Api")
    except (ImportError, AttributeError):
        pass


def _lookup(kind: str, v: Dict[str, Any], timeout: float) -> List[str]:
    from kubectl_ds.core.objects import name, namespace
    from kubectl_ds.source import open_source
    source = open_source(kubeconfig=v.get("kubeconfig"), context=v.get("context"),
                         snapshot=v.get("snapshot"), request_timeout=timeout)
    if kind == "nodes":
        return [name(n) for n in source.nodes()]
    if kind == "namespaces":   # the namespaces that hold DaemonSets: the only ones worth naming here
        return [namespace(d) for d in source.daemonsets(None)]
    if kind == "any-daemonsets":
        ns = None if v.get("all_namespaces") else v.get("namespace")
    else:
        ns = None if v.get("all_namespaces") else (v.get("namespace") or source.default_namespace)
    return [name(d) for d in source.daemonsets(ns)]


def with_deadline(fn: Callable[[], List[str]], timeout: float) -> Optional[List[str]]:
    """fn() in a daemon thread; None if it fails or is not done within `timeout` seconds."""
    result: List[Optional[List[str]]] = [None]

    def target():
        try:
            result[0] = fn()
        except Exception:  # noqa: BLE001 - completion never fails loudly: no candidates instead
            result[0] = None
    worker = threading.Thread(target=target, name=_WORKER, daemon=True)
    worker.start()
    worker.join(timeout)
    return None if worker.is_alive() else result[0]


def in_child(fn: Callable[[], List[str]], timeout: float) -> Optional[List[str]]:
    """fn() in a forked child whose answer comes back through a pipe; None if it fails or is not
    done within `timeout` seconds (the child is killed then). A thread cannot do this: json.loads
    of a 200 MB dump holds the interpreter for seconds, deadline or not. Without fork (Windows):
    with_deadline."""
    import json
    import select
    if not hasattr(os, "fork"):
        return with_deadline(fn, timeout)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: compute, write, leave without running the parent's exit handlers
        os.close(read_end)
        try:
            data = json.dumps(fn()).encode()
        except BaseException:  # noqa: BLE001 - no candidates instead
            data = b"null"
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_end)
    chunks: List[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                return None
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        found = json.loads(b"".join(chunks) or b"null")
        return found if isinstance(found, list) else None
    except (OSError, ValueError):
        return None
    finally:
        os.close(read_end)
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        os.waitpid(pid, 0)


def kubeconfig_contexts(path: Optional[object]) -> List[str]:
    """Context names from --kubeconfig, else every file in $KUBECONFIG, else ~/.kube/config."""
    import yaml
    paths = [str(path)] if path else [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] \
        or [os.path.expanduser("~/.kube/config")]
    out: List[str] = []
    for p in paths:
        try:
            with open(p) as fh:
                doc = yaml.safe_load(fh) or {}
            out += [c["name"] for c in doc.get("contexts") or () if isinstance(c, dict) and c.get("name")]
        except (OSError, yaml.YAMLError, AttributeError, TypeError):
            continue
    return out


def timeout_from_env() -> float:
    try:
        value = float(os.environ.get("KUBECTL_DS_COMPLETION_TIMEOUT", DEFAULT_TIMEOUT))
        return value if value > 0 else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def main(argv: Optional[List[str]] = None) -> None:
    """`kubectl_complete-ds WORD... INCOMPLETE`: print the candidates and the directive."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "__complete":   # cobra's spelling (`kubectl-foo __complete ...`) too
        args = args[1:]
    words, incomplete = args[:-1], (args[-1] if args else "")
    try:
        comps, directive = complete(words, incomplete, timeout_from_env())
    except Exception:  # noqa: BLE001 - a bug must not break the user's shell
        if os.environ.get("KUBECTL_DS_DEBUG"):
            raise
        comps, directive = [], ERROR
    sys.stdout.write("".join(line + "\n" for line in output_lines(comps)) + f":{directive}\n")
    sys.stdout.flush()
    if any(t.name == _WORKER and t.is_alive() for t in threading.enumerate()):
        os._exit(0)   # a lookup still blocked in a socket must not delay the exit past the deadline

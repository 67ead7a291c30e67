"""Exit codes and the one error type every expected failure becomes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    BAD_NEWS = 1       # diff found drift, rollout failed, ...
    CANNOT_ANSWER = 2  # usage error, not found, forbidden, unreachable, malformed input
    KILLED_BY_TEST_HOOK = 3   # migrate stopped by KUBECTL_DS_MIGRATE_EXIT_AFTER (tests only)


class DsError(Exception):
    """An expected failure: printed as one `error: ...` line on stderr, never a traceback."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.CANNOT_ANSWER, advised: bool = False):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.advised = advised   # the message already says what to do next (no generic hint added)


class NotFound(DsError):
    def __init__(self, kind: str, name: str, namespace: str = ""):
        where = f" in namespace {namespace!r}" if namespace else ""
        super().__init__(f'{kind} "{name}" not found{where}')

"""Exit codes of `token-monitor`: one per kind of failure, so scripts can tell them apart.

Where one fits, the number is the one sysexits.h gives that kind of failure. README.md lists
them; a test checks every code here is there and distinct.
"""

from __future__ import annotations

OK = 0
ERROR = 1  # a problem the message explains (network, unknown label, a file given to `count`)
USAGE = 2  # a flag or value the command cannot take (argparse uses 2 as well)
# 3-6: `keys test`, `keys add` (its key test) and `sync` outcomes, see
# monitor/services/admin_http.py
KEY_INVALID = 3  # also `budget --check`: the figures are unknown (no data, stale, unreadable)
KEY_SCOPE = 4
NETWORK = 5
API_ERROR = 6
NO_DISPLAY = 7  # the tray app (no subcommand) found no display: no $DISPLAY / $WAYLAND_DISPLAY
DATA_REFUSED = 65  # EX_DATAERR: input refused (a secret not UTF-8, with invisible characters,
#                    longer than 1 KB)
KEYRING_UNUSABLE = 69  # EX_UNAVAILABLE: the OS keyring is missing, locked or misconfigured
INTERNAL = 70  # EX_SOFTWARE: a bug; the traceback is in the log file
CANNOT_WRITE = 73  # EX_CANTCREAT: a file or folder of ours cannot be written
OUTPUT_FAILED = 74  # EX_IOERR: stdout cannot be written (disk full, /dev/full, I/O error)
DATABASE_BUSY = 75  # EX_TEMPFAIL: the usage database is locked by another process; retry
DATABASE_UNUSABLE = 76  # the usage database is damaged, from a newer version or not a database
CONFIG_UNUSABLE = 78  # EX_CONFIG: a config file that cannot be read; it is left as it is
INTERRUPTED = 130  # Ctrl+C (128 + SIGINT)
PIPE_CLOSED = 141  # the reader of stdout went away (128 + SIGPIPE, as `cat` would); no message

DESCRIPTIONS: dict[int, str] = {
    OK: "success",
    ERROR: "a problem the message explains (network, unknown label, bad input file — e.g. a "
           "`price import` or `db restore` file that is a FIFO, a device, too large or not "
           "ours, ...); "
           "`budget --check`: spend at or over the threshold",
    USAGE: "a flag or value the command cannot take",
    KEY_INVALID: "`keys test` / `keys add` / `sync`: the API key is invalid; "
                 "`budget --check`: no data, stale data or an unreadable store (the figures "
                 "are unknown)",
    KEY_SCOPE: "`keys test` / `keys add` / `sync`: the key lacks the needed scope",
    NETWORK: "`keys test` / `keys add` / `sync`: network error",
    API_ERROR: "`keys test` / `keys add` / `sync`: other API error (rate limit, quota, server)",
    NO_DISPLAY: "the tray app (`token-monitor` with no command) found no display "
                "($DISPLAY / $WAYLAND_DISPLAY unset); the CLI commands still work",
    DATA_REFUSED: "input refused: a secret that is not UTF-8 or ASCII, holds control or "
                  "zero-width characters, or is longer than 1 KB",
    KEYRING_UNUSABLE: "the OS keyring is missing, locked or misconfigured "
                      "(e.g. a bad PYTHON_KEYRING_BACKEND)",
    INTERNAL: "internal error (a bug); the traceback is in the log file",
    CANNOT_WRITE: "a file or folder of ours cannot be written (e.g. the config folder, a "
                  "read-only usage database)",
    OUTPUT_FAILED: "stdout cannot be written (disk full, /dev/full)",
    DATABASE_BUSY: "the usage database is locked by another process; try again",
    DATABASE_UNUSABLE: "the usage database is damaged, from a newer version or not a database",
    CONFIG_UNUSABLE: "a config file (settings.json, keys.json) cannot be read or set aside "
                     "(permissions, a directory, a FIFO or device, larger than 16 MB); it is "
                     "left untouched",
    INTERRUPTED: "interrupted (Ctrl+C), including `sync` (once or looped: what a pass "
                 "stored is kept) and `proxy` (SIGTERM stops it with 0)",
    PIPE_CLOSED: "the program reading the output closed it (piped into `head`, `grep -q`); "
                 "no message",
}

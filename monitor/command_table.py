"""The table of subcommands: name → module and the one-line help `token-monitor --help` shows.

Its own module so that the CLI (monitor/cli.py) and its parser (monitor/cli_parser.py) both read
it without importing each other; see monitor/cli.py for how to add a command.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    """Where a subcommand lives and the help line `token-monitor --help` shows for it."""

    module: str
    help: str


# The one list of subcommands (see the module docstring to add one). Sorted by name.
COMMANDS: dict[str, Command] = {
    "alerts": Command("monitor.commands.alerts",
                      "the alerts due now that the app has not shown yet"),
    "budget": Command("monitor.commands.budget",
                      "show or set the monthly limit and alert thresholds"),
    "count": Command("monitor.commands.count",
                     "count the tokens of a text file or stdin (offline) and what they would "
                     "cost"),
    "db": Command("monitor.commands.db", "check, back up or restore the usage database"),
    "desktop": Command("monitor.commands.desktop",
                       "add Token Monitor to (or remove it from) the application menu"),
    "keys": Command("monitor.commands.keys", "manage API keys (kept in the OS keyring)"),
    "price": Command("monitor.commands.price",
                     "show the price table or one model's prices (USD per 1M tokens)"),
    "proxy": Command("monitor.commands.proxy",
                     "run the local metering proxy (live per-request usage and cost)"),
    "status": Command("monitor.commands.status",
                      "today's and this cycle's spend in one line (status bars, scripts)"),
    "sync": Command("monitor.commands.sync",
                    "fetch organization usage and costs (needs an Admin key)"),
    "tokenizer": Command("monitor.commands.tokenizer",
                         "open the tokenizer window (tokens, ids, cost of a text)"),
    "usage": Command("monitor.commands.usage", "requests, tokens and dollars for a period"),
}

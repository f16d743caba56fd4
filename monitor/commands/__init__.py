"""One module per CLI subcommand; each exposes `register(subparsers)` and `run(args, ctx)`.

A module here is a command once it has its line in `monitor.command_table.COMMANDS`.
"""

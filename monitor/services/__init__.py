"""Qt-free I/O adapters: files, SQLite, keyring, HTTP. Never imports PySide6."""

"""The dashboard window and its panes (header counters, tables, charts, sources)."""

"""Everything that imports PySide6 lives here; imported only when the GUI starts."""

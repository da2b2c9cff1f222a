"""The dockable widgets: one module per widget, sharing :mod:`._base`."""

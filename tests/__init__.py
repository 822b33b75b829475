"""CFT Studio tests. Folders mirror the packages of ``cft/``; the core modules are tested at this level."""

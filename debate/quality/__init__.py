"""QuALITY: its file format and the paper's filters (`format.py`, pure) and the importer."""

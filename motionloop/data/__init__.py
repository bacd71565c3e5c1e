"""Data in: importers per format, retargeting to SMPL-24, the bundled dataset, training windows."""

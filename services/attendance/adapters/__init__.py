"""Adapters of the attendance service: renderers of its data into files (``workbook``: the
monthly report and evaluation as XLSX)."""

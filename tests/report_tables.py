#!/usr/bin/python3
"""report_tables.py - the tables of `nnsweep report --format FMT` output, for the shell tests:
tables(out, fmt, first) returns every table whose heading row starts with the cell `first`, as a
list of rows (lists of cells, the heading left out). Text tables are split at blanks (a cell with
a blank in it becomes two), markdown at "|", CSV by the csv module; "#" lines of CSV and the
separator lines of markdown are passed over; a line that is not a row ends a table."""
import csv


def cells_of(line, fmt):
    """The cells of one line; None for a line that is no table row, [] for a markdown rule."""
    if fmt == "csv":
        return None if line.startswith("#") else next(csv.reader([line]), None)
    if fmt == "markdown":
        if not line.startswith("|"):
            return None
        return [] if set(line) <= set("|-: ") else [c.strip() for c in line.strip("|").split("|")]
    return line.split() or None


def tables(out, fmt, first):
    found, rows = [], None
    for line in out.splitlines():
        cells = cells_of(line, fmt)
        if cells == []:
            continue
        if cells and cells[0] == first:
            rows = []
            found.append(rows)
        elif not cells:
            rows = None
        elif rows is not None:
            rows.append(cells)
    return found

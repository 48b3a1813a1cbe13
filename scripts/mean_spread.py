#!/usr/bin/env python3
"""Combines Markdown tables of the same shape (one per seed, as scripts/accuracy_table.sh prints them) into one
table whose cells are "mean ± half-range (min-max)" (one value where all seeds agree), and says how many seeds a
cell has when some lack it.
Usage: scripts/mean_spread.py TABLE.md [TABLE.md ...]   (cells that are not numbers, e.g. "-", are skipped)"""
import sys


def rows(path):
    lines = [line.strip() for line in open(path) if line.strip().startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    tables = [rows(path) for path in sys.argv[1:]]
    shape = [(len(r), r[0]) for r in tables[0]]
    for path, table in zip(sys.argv[1:], tables):
        if [(len(r), r[0]) for r in table] != shape:
            sys.exit(f"{path}: not the same rows and columns as {sys.argv[1]}")
    first = tables[0]
    print("| " + " | ".join(first[0]) + " |")
    print("|" + "---|" * len(first[0]))
    for i, row in enumerate(first[2:], start=2):
        cells = [row[0]]
        for j in range(1, len(row)):
            values = [v for v in (number(t[i][j]) for t in tables) if v is not None]
            if not values:
                cells.append("-")
                continue
            mean, low, high = sum(values) / len(values), min(values), max(values)
            if low == high == values[0] and len(values) == len(tables):
                cells.append(f"{mean:.2f}")  # the same on every seed (full precision)
                continue
            seeds = "" if len(values) == len(tables) else f" [{len(values)} seeds]"
            cells.append(f"{mean:.2f} ± {(high - low) / 2:.2f} ({low:.2f}-{high:.2f}){seeds}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

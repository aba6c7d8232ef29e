#!/usr/bin/env python3
"""The biggest contributors to a wasm module's code, by crate, from its name section.

    python3 scripts/wasm_sizes.py MODULE.wasm [TOP]

Reads the code section's function bodies and the name section's function names (a module
built without `strip`), demangles Rust's legacy names far enough to find the crate, and
prints the code bytes per crate, largest first, with the share of all code (like `twiggy
top`, grouped by crate)."""
import re
import sys
from collections import Counter


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(b):
    i = 8
    while i < len(b):
        sid = b[i]
        n, j = leb(b, i + 1)
        name = None
        if sid == 0:
            l, k = leb(b, j)
            name = b[k:k + l].decode()
        yield sid, name, j, n
        i = j + n


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    b = open(path, "rb").read()
    imports = 0
    bodies = []
    names = {}
    for sid, name, start, n in sections(b):
        if sid == 2:  # imports: function imports take the first indices
            count, i = leb(b, start)
            for _ in range(count):
                for _ in range(2):
                    l, i = leb(b, i)
                    i += l
                kind = b[i]
                i += 1
                if kind == 0:
                    _, i = leb(b, i)
                    imports += 1
                elif kind == 1:
                    i += 1
                    flags, i = leb(b, i)
                    _, i = leb(b, i)
                    if flags & 1:
                        _, i = leb(b, i)
                elif kind == 2:
                    flags, i = leb(b, i)
                    _, i = leb(b, i)
                    if flags & 1:
                        _, i = leb(b, i)
                elif kind == 3:
                    i += 2
                else:
                    _, i = leb(b, i + 1) if kind == 4 else (0, i)
        elif sid == 10:
            count, i = leb(b, start)
            for _ in range(count):
                size, i = leb(b, i)
                bodies.append(size)
                i += size
        elif name == "name":
            i, end = start, start + n
            l, i = leb(b, i)
            i += l
            while i < end:
                sub = b[i]
                size, i = leb(b, i + 1)
                if sub == 1:
                    count, k = leb(b, i)
                    for _ in range(count):
                        idx, k = leb(b, k)
                        l, k = leb(b, k)
                        names[idx] = b[k:k + l].decode("utf-8", "replace")
                        k += l
                i += size
    if not names:
        sys.exit(f"{path} has no name section: build it without `strip` to see names")
    total = sum(bodies)
    by_crate = Counter()
    for f, size in enumerate(bodies):
        by_crate[crate_of(names.get(imports + f, "?"))] += size
    print(f"{path}: {len(bodies)} functions, {total / 1e6:.2f} MB of code")
    print(f"{'crate':<28} {'code bytes':>12} {'share':>7}")
    for crate, size in by_crate.most_common(top):
        print(f"{crate:<28} {size:>12,} {100 * size / total:>6.1f}%")


def crate_of(name):
    """The crate a function belongs to: for a generic instantiation (`<T as Trait>::f`, or
    `core::…::<burn_flex::…>`), the crate of the first non-std path inside it."""
    for esc, ch in [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","), ("$RF$", "&"), ("..", "::")]:
        name = name.replace(esc, ch)
    if name.startswith("_ZN"):
        m = re.match(r"_ZN(\d+)", name)
        if m:
            n = int(m.group(1))
            return name[len(m.group(0)):len(m.group(0)) + n]
    paths = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    std = {"core", "alloc", "std", "impl", "dyn", "as", "_"}
    for p in paths:
        if p not in std:
            return p
    return paths[0] if paths else name.split("(")[0][:28]


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Every public symbol of the library's modules has a doc comment: reads the symbol graphs in
DIR (swift package dump-symbol-graph) for the modules named, and lists each public symbol
without one, by file and line. Members that only restate a standard protocol's requirement
(`description`, `hash(into:)`, `==`, `rawValue`, ...) and compiler-made ones are exempt: their
meaning is the protocol's. Exits 1 when any is missing.
"""
import json
import os
import sys

EXEMPT = {"hashValue", "hash(into:)", "==(_:_:)", "!=(_:_:)", "<(_:_:)", "<=(_:_:)", ">(_:_:)", ">=(_:_:)",
          "description", "debugDescription", "init(rawValue:)", "rawValue", "allCases", "init(from:)", "encode(to:)",
          "errorDescription", "init(dictionaryLiteral:)", "init(stringLiteral:)", "init(integerLiteral:)",
          "makeIterator()", "next()", "id"}

def main(directory, modules):
    missing = []
    total = 0
    for module in modules:
        graph = json.load(open(os.path.join(directory, f"{module}.symbols.json")))
        for symbol in graph["symbols"]:
            if symbol["accessLevel"] not in ("public", "open"):
                continue
            name = symbol["pathComponents"][-1]
            if name in EXEMPT or symbol["kind"]["identifier"] == "swift.typealias" and symbol.get("docComment"):
                continue
            total += 1
            if symbol.get("docComment"):
                continue
            location = symbol.get("location", {})
            where = location.get("uri", "?").split("/Sources/")[-1]
            line = location.get("position", {}).get("line", -1) + 1
            missing.append(f"Sources/{where}:{line}: {module}.{'.'.join(symbol['pathComponents'])} ({symbol['kind']['displayName']})")
    for m in sorted(missing):
        print(f"doc-coverage: undocumented: {m}", file=sys.stderr)
    if missing:
        print(f"doc-coverage: {len(missing)} of {total} public symbols have no doc comment", file=sys.stderr)
        return 1
    print(f"doc-coverage: all {total} public symbols of {', '.join(modules)} are documented")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))

#!/usr/bin/env python3
"""Compares the functions of the checked-in include/headroom.h with those the Swift compiler
generated for the library (HeadroomC-Swift.h): the same names, return types, parameter types
and parameter names, in the same order. Exits 1 and says each difference when they drift.

The compiler writes an opaque handle as `void *`, east-const (`char const *`) and with
nullability qualifiers; those are normalized away before comparing.
"""
import re
import sys

def normalize(text):
    text = re.sub(r"\b_Nullable\b|\b_Nonnull\b|\bSWIFT_NOEXCEPT\b|\bSWIFT_WARN_UNUSED_RESULT\b", "", text)
    text = re.sub(r"\bheadroom_engine\b", "void", text)
    text = re.sub(r"\b(\w+) const\b", r"const \1", text)
    text = re.sub(r"\s*\*\s*", " * ", text)
    return re.sub(r"\s+", " ", text).strip()

def prototypes(text, prefix):
    found = {}
    for match in re.finditer(prefix + r"([\w\s\*]+?)\b(headroom_\w+)\s*\(([^)]*)\)[^;]*;", text):
        result, name, parameters = match.groups()
        parameters = [normalize(p) for p in parameters.split(",")]
        found[name] = (normalize(result), parameters)
    return found

def main(checked_in, generated):
    ours = prototypes(re.sub(r"/\*.*?\*/", "", open(checked_in).read(), flags=re.S), r"(?m)^")
    theirs = prototypes(open(generated).read(), r"SWIFT_EXTERN\s+")
    problems = []
    for name in sorted(set(ours) | set(theirs)):
        if name not in theirs:
            problems.append(f"{name}: declared in {checked_in}, not defined by the library")
        elif name not in ours:
            problems.append(f"{name}: defined by the library, missing from {checked_in}")
        elif ours[name] != theirs[name]:
            problems.append(f"{name}: {checked_in} says {ours[name]}, the compiler {theirs[name]}")
    if not theirs:
        problems.append(f"{generated} declares no headroom_ function: is it the library's generated header?")
    for problem in problems:
        print(f"check-header: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-header: {len(ours)} functions of {checked_in} match the compiler's declarations")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

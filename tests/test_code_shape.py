"""The shape rules of issue 25, checked on the sources (docs/ARCHITECTURE.md):
- no function outside kernels/ is longer than 80 lines (jobs read as a
  list of steps);
- no positional initializer of more than 3 fields: a struct initialized
  with 4 or more values names them (designated initializers), so nobody
  has to count which number is which;
- every option is declared once, in its command's table (core/options.h):
  nothing but core/options.c calls getopt_long.
Each rule is also tested on a small planted violation."""
import os
import re

import pytest

SRC = os.environ.get("PROPSCORE_SRC", os.path.join(os.path.dirname(__file__), ".."))
MAX_LINES = 80
MAX_POSITIONAL = 3


def sources(tops=("host", "kernels"), exts=(".c", ".h", ".cu", ".cuh")):
    for top in tops:
        for dirpath, _, files in os.walk(os.path.join(SRC, top)):
            for f in sorted(files):
                if f.endswith(exts):
                    path = os.path.join(dirpath, f)
                    yield os.path.relpath(path, SRC).replace(os.sep, "/"), open(path, errors="replace").read()


def strip(text):
    """Comments blanked, strings and character literals emptied; newlines kept."""
    def blank(m):
        t = m.group(0)
        if t[0] in "\"'":  # a literal stays a (blank) value: "   "
            return t[0] + " " * (len(t) - 2) + t[-1]
        return re.sub(r"[^\n]", " ", t)
    pattern = r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
    text = re.sub(pattern, blank, text, flags=re.S)
    return re.sub(r"^[ \t]*#[^\n]*(?:\\\n[^\n]*)*", blank, text, flags=re.M)


def functions(text):
    """(name, first line, line count) of every function definition."""
    code, out, depth, i = strip(text), [], 0, 0
    while i < len(code):
        c = code[i]
        if c == "{" and depth == 0:
            head = code[max(0, i - 400):i]
            m = re.search(r"(\w+)\s*\([^;{}]*\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?$", head, re.S)
            start_line = code.count("\n", 0, i)
            j, d = i, 0
            while j < len(code):
                d += {"{": 1, "}": -1}.get(code[j], 0)
                if d == 0:
                    break
                j += 1
            if m and m.group(1) not in ("if", "for", "while", "switch", "sizeof"):
                first = code.count("\n", 0, i - len(head) + m.start())
                out.append((m.group(1), first + 1, code.count("\n", 0, j) - first + 1))
            i = j + 1
            continue
        i += 1
    return out


def long_functions(files):
    return [f"{rel}:{line}: {name} is {n} lines (at most {MAX_LINES})"
            for rel, text in files.items() if not rel.startswith("kernels/")
            for name, line, n in functions(text) if n > MAX_LINES]


def split_top(body):
    """The top-level comma-separated items of a brace list's inside."""
    items, depth, cur = [], 0, ""
    for c in body:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        if c == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        items.append(cur.strip())
    return items


def matching(code, i):
    d = 0
    for j in range(i, len(code)):
        d += {"{": 1, "}": -1}.get(code[j], 0)
        if d == 0:
            return j
    return len(code) - 1


def check_list(code, i, is_array, rel, out):
    """The brace list at code[i]: a struct's values (or an array's elements)."""
    j = matching(code, i)
    items = split_top(code[i + 1:j])
    if is_array:
        for it in items:
            if it.startswith("{"):
                k = code.index("{", i + 1 + code[i + 1:j].index(it))
                check_list(code, k, False, rel, out)
        return
    positional = [it for it in items if it and not it.startswith((".", "["))]
    if len(items) > MAX_POSITIONAL and positional:
        out.append(f"{rel}:{code.count(chr(10), 0, i) + 1}: positional initializer of {len(items)} fields")
    for it in items:  # nested struct values: {.a = {1, 2, 3, 4}}
        v = it.split("=", 1)[1].strip() if it.startswith(".") and "=" in it else it
        if v.startswith("{"):
            k = code.index("{", i + 1 + code[i + 1:j].index(v))
            check_list(code, k, False, rel, out)


def positional_initializers(files):
    out = []
    for rel, text in files.items():
        if not rel.endswith((".c", ".h")):
            continue  # CUDA sources: dim3 and launch syntax, checked by review
        code = strip(text)
        for m in re.finditer(r"(?<![=!<>])=\s*\{", code):
            decl = re.split(r"[;{}()]", code[max(0, m.start() - 200):m.start()])[-1]
            check_list(code, m.end() - 1, "]" in decl, rel, out)
        for m in re.finditer(r"\(\s*(?:const\s+)?(?:struct\s+)?\w+\s*(\[\s*\w*\s*\])?\s*\)\s*\{", code):
            check_list(code, m.end() - 1, bool(m.group(1)), rel, out)
    return out


def getopt_calls(files):
    return [f"{rel}: calls getopt_long (declare the options in a table: core/options.h)"
            for rel, text in files.items() if rel != "host/core/options.c" and "getopt_long(" in strip(text)]


def tree():
    return dict(sources())


def test_no_long_functions_outside_kernels():
    assert not long_functions(tree()), "\n".join(long_functions(tree()))


def test_no_positional_initializers_of_more_than_3_fields():
    bad = positional_initializers(tree())
    assert not bad, "\n".join(bad)


def test_options_are_declared_once():
    bad = getopt_calls(tree())
    assert not bad, "\n".join(bad)


LONG = "int f(int a) {\n" + "  a++;\n" * 81 + "  return a;\n}\n"


@pytest.mark.parametrize("rel,text,check,expect", [
    ("host/stats/zz.c", LONG, long_functions, "zz.c:1: f is 84 lines"),
    ("host/stats/zz.c", "typedef struct {int a, b, c, d;} t;\nt x = {1, 2, 3, 4};\n", positional_initializers,
     "zz.c:2: positional initializer of 4 fields"),
    ("host/stats/zz.c", "void f(void) { g((t){1, 2, 3, 4}); }\n", positional_initializers, "positional initializer"),
    ("host/stats/zz.c", "static s opts[] = {{\"a\", 1, 0, 'a'}, {0}};\n", positional_initializers,
     "positional initializer of 4 fields"),
    ("host/cli/zz.c", "int f(int c, char **v) { return getopt_long(c, v, \"\", 0, 0); }\n", getopt_calls,
     "calls getopt_long"),
])
def test_planted_violations_are_seen(rel, text, check, expect):
    assert any(expect in v for v in check({rel: text})), check({rel: text})


def test_what_is_fine_is_not_flagged():
    fine = {"host/stats/zz.c": "t x = {.a = 1, .b = 2, .c = 3, .d = 4};\nint d[4] = {1, 2, 3, 4};\n"
                               "p q = {1, 2, 3};\nint f(void) {\n" + "  ;\n" * 77 + "}\n",
            "kernels/gbdt/zz.c": LONG}
    assert not positional_initializers(fine) and not long_functions(fine)

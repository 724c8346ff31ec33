"""One home for each decision (issue 9): no block of six or more lines is repeated in server/, and no
module is over about 400 lines without a reason written at its top.

The repetition check reads the code as text: each line with its spacing collapsed, leaving out blank
lines, comments, imports and lines of three characters or less (a lone `)` or `try`); any run of
WINDOW such lines that appears twice is a decision with two homes. Tests of the check itself show it
finding a repeat and a missing reason, so it cannot pass by reading nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"
WINDOW = 6
MAX_LINES = 400
REASON = "Length:"        # a module over MAX_LINES says why in its docstring, in a paragraph starting so


def _significant(text: str) -> list[tuple[int, str]]:
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        s = " ".join(line.split())
        if len(s) <= 3 or s.startswith(("#", "import ", "from ")):
            continue
        lines.append((number, s))
    return lines


def repeated_blocks(sources: dict[str, str], window: int = WINDOW) -> list[list[tuple[str, int, int]]]:
    """Every run of `window` significant lines found in more than one place: [(file, first, last line)…]."""
    places: dict[str, list[tuple[str, int, int]]] = {}
    for name, text in sources.items():
        lines = _significant(text)
        for i in range(len(lines) - window + 1):
            run = lines[i:i + window]
            places.setdefault("\n".join(s for _, s in run), []).append((name, run[0][0], run[-1][0]))
    return [found for found in places.values() if len(found) > 1]


def long_modules_without_reason(sources: dict[str, str], limit: int = MAX_LINES) -> list[str]:
    missing = []
    for name, text in sources.items():
        if text.count("\n") + 1 > limit and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            missing.append(f"{name} ({text.count(chr(10)) + 1} lines)")
    return missing


def _server_sources() -> dict[str, str]:
    return {str(p.relative_to(SERVER.parent)): p.read_text(encoding="utf-8") for p in sorted(SERVER.rglob("*.py"))}


def test_the_checks_read_the_whole_package():
    sources = _server_sources()
    assert len(sources) > 40 and sum(len(_significant(t)) for t in sources.values()) > 5000


def test_no_block_of_six_lines_is_repeated_in_server():
    repeats = repeated_blocks(_server_sources())
    where = ["  " + " = ".join(f"{f}:{a}-{b}" for f, a, b in places) for places in repeats]
    assert not repeats, "These blocks are written more than once; give the decision one home:\n" + "\n".join(where)


def test_no_module_is_long_without_a_reason_at_its_top():
    missing = long_modules_without_reason(_server_sources())
    assert not missing, (f"Over {MAX_LINES} lines with no '{REASON}' paragraph in the module docstring "
                         "(split it, or say why it is one module): " + ", ".join(missing))


def test_the_repeat_check_finds_a_repeat_but_not_a_near_miss():
    block = "".join(f"    total = total + value_{i}(x)\n" for i in range(WINDOW))
    a = f'"""A."""\nimport os\n\ndef f(x):\n{block}    return total\n'
    b = f'"""B."""\n\ndef g(x):\n    # the same, reindented\n{block.replace("    ", "        ")}'
    assert [[p[0] for p in places] for places in repeated_blocks({"a.py": a, "b.py": b})] == [["a.py", "b.py"]]
    near = block.replace(f"value_{WINDOW - 1}", "other")
    assert repeated_blocks({"a.py": a, "c.py": f"def h(x):\n{near}"}) == []


def test_the_length_check_wants_a_reason():
    body = "x = 1\n" * (MAX_LINES + 5)
    assert long_modules_without_reason({"long.py": '"""Short."""\n' + body}) == [f"long.py ({MAX_LINES + 7} lines)"]
    assert long_modules_without_reason({"long.py": f'"""Short.\n\n{REASON} one table.\n"""\n' + body}) == []

"""`mpksa spec check` and `mpksa spec sync`: keep the chapters and the reference one text.

The spec quotes the reference verbatim in fenced Python blocks marked with the
quoted object (spec chapter 1, "How this specification is checked"):

    ```python title="mpksa.enc:enc_v1"
    def enc_v1(...): ...
    ```

`check` reports, one line per problem with file:line,

1. a marked block that differs from the source of the object it names
   (``inspect.getsource``, dedented; a constant quotes its assignment statement),
2. a public function, class or UPPER_CASE constant of an algorithm module
   (``ALGORITHM_MODULES``) that no marked block quotes,
3. a ``$$`` equation block with no marked block after it before the next
   heading or equation,
4. an error code of ``mpksa.errors`` that the spec never names in backticks.

`sync` rewrites every marked block from the current source, then checks.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import inspect
import pkgutil
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# The modules whose public API is the algorithm: every public function, class and
# UPPER_CASE constant in them must be quoted somewhere in spec/; a package counts with each of its
# modules. Left out as plumbing:
# ops (the wire contract, described in prose in chapter 6 and quotable but not
# required), cli, spec_tool, errors (its codes are checked by rule 4 instead).
ALGORITHM_MODULES: tuple[str, ...] = (
    "params", "encoding", "sysgen", "keygen", "aggpkgen", "se", "enc", "chelgen", "resgen",
    "agg", "dec", "profiles", "messages", "round", "validate", "randomness", "guard", "proofs", "findings",
    "segment_bases",
)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r'^python\b.*\btitle="(?P<ref>mpksa(?:\.\w+)*:[\w.]+)"')
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_BACKTICKED = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located in a file of spec/ or of the reference."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Block:
    """A fenced code block of a chapter; `ref` is set when it is marked as a quote."""

    path: Path
    line: int          # 1-based line of the opening fence
    indent: str
    ref: str | None
    body: list[str]    # lines between the fences, indentation removed
    end: int           # 1-based line of the closing fence


@dataclass(frozen=True)
class Equation:
    path: Path
    line: int


@dataclass(frozen=True)
class Heading:
    path: Path
    line: int


Event = Block | Equation | Heading


def default_spec_dir() -> Path:
    """The chapters beside this module: spec/ in a checkout, the installed package data in a wheel."""
    return Path(__file__).resolve().parent


def chapters(spec_dir: Path) -> list[Path]:
    return sorted(spec_dir.rglob("*.md"))


def _display(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse(path: Path) -> Iterator[Event]:
    """Code blocks, $$ equation blocks and ATX headings of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            indent, mark = fence["indent"], fence["fence"]
            closing = re.compile(rf"^[ \t]*{re.escape(mark[0])}{{{len(mark)},}}[ \t]*$")
            end = i + 1
            while end < len(lines) and not closing.match(lines[end]):
                end += 1
            marker = _MARKER.match(fence["info"].strip())
            body = [text[len(indent):] if text.startswith(indent) else text.lstrip() for text in lines[i + 1:end]]
            yield Block(path, i + 1, indent, marker["ref"] if marker else None, body, end + 1)
            i = end + 1
            continue
        stripped = line.strip()
        if stripped.startswith("$$"):
            start = i
            single = len(stripped) > 2 and stripped.endswith("$$") and len(stripped) >= 4
            if not single:
                i += 1
                while i < len(lines) and not lines[i].strip().endswith("$$"):
                    i += 1
            yield Equation(path, start + 1)
        elif _HEADING.match(line):
            yield Heading(path, i + 1)
        i += 1


def _resolve(ref: str) -> tuple[object | None, str | None]:
    """The object named by 'mpksa.module:Qual.name', or (None, why not)."""
    module_name, qualname = ref.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, f"cannot import {module_name}: {exc}"
    obj: object = module
    for part in qualname.split("."):
        if inspect.isclass(obj) and part in vars(obj):
            obj = vars(obj)[part]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            return None, f"{module_name} has no {qualname}"
    return obj, None


@functools.cache
def _module_index(module_name: str) -> tuple[str, dict[str, ast.stmt]]:
    """The source of a module and its top-level definitions by name (parsed once per check)."""
    source = inspect.getsource(sys.modules[module_name])
    index: dict[str, ast.stmt] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            index[node.name] = node
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                index[t.id] = node
    return source, index


def _constant_source(module: ModuleType, name: str) -> tuple[str, int] | None:
    """The top-level assignment of `name` in the module's source, and its line."""
    source, index = _module_index(module.__name__)
    node = index.get(name)
    if isinstance(node, ast.Assign | ast.AnnAssign):
        segment = ast.get_source_segment(source, node)
        if segment is not None:
            return segment, node.lineno
    return None


def reference_source(ref: str) -> tuple[str, str, int]:
    """(source text, source file, line) of the object a marker names. Raises LookupError."""
    obj, why = _resolve(ref)
    if why is not None:
        raise LookupError(why)
    module_name, qualname = ref.split(":", 1)
    if isinstance(obj, property):
        obj = obj.fget
    elif isinstance(obj, classmethod | staticmethod):
        obj = obj.__func__
    target = inspect.unwrap(obj) if callable(obj) else obj
    if inspect.isfunction(target) or inspect.isclass(target):
        lines, start = inspect.getsourcelines(obj)  # type: ignore[arg-type]
        text = textwrap.dedent("".join(lines)).rstrip("\n")
        return text, inspect.getsourcefile(target) or module_name, start
    if "." not in qualname:
        module = sys.modules[module_name]
        found = _constant_source(module, qualname)
        if found is not None:
            return found[0], inspect.getsourcefile(module) or module_name, found[1]
    raise LookupError(f"{ref} is neither a function, a class nor a top-level assignment")


def _public_names(module: ModuleType) -> Iterator[tuple[str, object, int]]:
    """Public functions, classes and UPPER_CASE constants defined in the module, with their line."""
    _, index = _module_index(module.__name__)
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        target = inspect.unwrap(obj) if callable(obj) else obj
        if (inspect.isfunction(target) or inspect.isclass(target)) and getattr(target, "__module__", None) == module.__name__:
            node = index.get(name)
            line = node.lineno if isinstance(node, ast.FunctionDef | ast.ClassDef) else inspect.getsourcelines(target)[1]
            yield name, target, line
    for name, node in index.items():
        if isinstance(node, ast.Assign | ast.AnnAssign) and name.isupper() and not name.startswith("_"):
            yield name, None, node.lineno


def _class_covered(cls: type, ref: str, quoted: set[str]) -> bool:
    """Quoted whole, or every public method and property it defines is quoted."""
    if ref in quoted:
        return True
    members = [name for name, value in vars(cls).items() if not name.startswith("_")
               and (inspect.isfunction(value) or isinstance(value, property | classmethod | staticmethod))]
    return bool(members) and all(f"{ref}.{name}" in quoted for name in members)


def _algorithm_modules() -> Iterator[tuple[str, ModuleType | None, str | None]]:
    """(name, module or None, why not importable) for every algorithm module; a package counts
    with each of its modules."""
    for short in ALGORITHM_MODULES:
        module_name = f"mpksa.{short}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            yield module_name, None, f"cannot import: {exc}" if getattr(exc, "name", None) != module_name else None
            continue
        yield module_name, module, None
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            yield f"{module_name}.{info.name}", importlib.import_module(f"{module_name}.{info.name}"), None


def _missing(quoted: set[str]) -> tuple[list[Problem], list[str]]:
    """Rule 2. Returns the problems and notes on modules that are not importable."""
    problems, notes = [], []
    for module_name, module, why in _algorithm_modules():
        if module is None:
            if why is None:
                notes.append(f"note: {module_name} is not importable: skipped")
            else:
                problems.append(Problem(module_name, 0, why))
            continue
        source_file = _display(inspect.getsourcefile(module) or module_name)
        for name, obj, line in _public_names(module):
            ref = f"{module_name}:{name}"
            covered = _class_covered(obj, ref, quoted) if inspect.isclass(obj) else ref in quoted
            if not covered:
                problems.append(Problem(source_file, line, f"{ref} is not quoted in spec/ (add a block marked title=\"{ref}\")"))
    return problems, notes


def _equation_problems(events: list[Event]) -> list[Problem]:
    """Rule 3: after each $$ block, a marked block before the next heading or equation."""
    problems = []
    for index, event in enumerate(events):
        if not isinstance(event, Equation):
            continue
        following = next((e for e in events[index + 1:] if not isinstance(e, Block) or e.ref is not None), None)
        same_file = following is not None and following.path == event.path
        if not (same_file and isinstance(following, Block)):
            problems.append(Problem(_display(event.path), event.line,
                                    "equation has no reference code block after it (before the next heading or equation)"))
    return problems


def _error_code_problems(text: str) -> list[Problem]:
    """Rule 4: every stable error code is named (in backticks) somewhere in spec/."""
    from mpksa.errors import ERROR_CLASSES

    named = set(_BACKTICKED.findall(text))
    problems = []
    for code, cls in ERROR_CLASSES.items():
        if code not in named:
            source_file = _display(inspect.getsourcefile(cls) or "mpksa.errors")
            problems.append(Problem(source_file, inspect.getsourcelines(cls)[1],
                                    f"error code `{code}` ({cls.__name__}) is not named in spec/"))
    return problems


@dataclass
class Report:
    problems: list[Problem]
    notes: list[str]
    blocks: int
    equations: int


def check(spec_dir: Path) -> Report:
    """Run the four rules over every Markdown file under spec_dir."""
    _module_index.cache_clear()
    if not spec_dir.is_dir():
        return Report([Problem(_display(spec_dir), 0, "spec directory not found; pass --spec-dir")], [], 0, 0)
    problems: list[Problem] = []
    events: list[Event] = []
    texts = []
    for path in chapters(spec_dir):
        events.extend(parse(path))
        texts.append(path.read_text(encoding="utf-8"))
    quoted: set[str] = set()
    blocks = [e for e in events if isinstance(e, Block) and e.ref is not None]
    for block in blocks:
        assert block.ref is not None
        quoted.add(block.ref)
        try:
            source, source_file, line = reference_source(block.ref)
        except LookupError as exc:
            problems.append(Problem(_display(block.path), block.line, f"block {block.ref}: {exc}"))
            continue
        if "\n".join(block.body).rstrip("\n") != source:
            problems.append(Problem(_display(block.path), block.line,
                                    f"block {block.ref} differs from its source {_display(source_file)}:{line} "
                                    f"(run `mpksa spec sync`)"))
    missing, notes = _missing(quoted)
    problems += missing
    problems += _equation_problems(events)
    problems += _error_code_problems("\n".join(texts))
    equations = sum(isinstance(e, Equation) for e in events)
    return Report(problems, notes, len(blocks), equations)


def sync(spec_dir: Path) -> list[str]:
    """Rewrite every marked block from the current source. Returns 'file:line ref' per change."""
    _module_index.cache_clear()
    changed = []
    for path in chapters(spec_dir):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        edits = []
        for block in parse(path):
            if not isinstance(block, Block) or block.ref is None:
                continue
            try:
                source = reference_source(block.ref)[0]
            except LookupError:
                continue  # reported by check
            if "\n".join(block.body).rstrip("\n") != source:
                body = [f"{block.indent}{text}\n" if text else "\n" for text in source.split("\n")]
                edits.append((block.line, block.end - 1, body))
                changed.append(f"{_display(path)}:{block.line} {block.ref}")
        for start, stop, body in reversed(edits):  # from the bottom, so line numbers stay valid
            lines[start:stop] = body
        if edits:
            path.write_text("".join(lines), encoding="utf-8")
    return changed


def _print_report(report: Report, verb: str) -> int:
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(problem)
    if report.problems:
        print(f"spec {verb}: {len(report.problems)} problem(s)")
        return 1
    print(f"spec {verb}: OK ({report.blocks} quoted blocks, {report.equations} equations)")
    return 0


def _run_check(args: argparse.Namespace) -> int:
    return _print_report(check(Path(args.spec_dir)), "check")


def _run_sync(args: argparse.Namespace) -> int:
    spec_dir = Path(args.spec_dir)
    if not spec_dir.is_dir():
        print(f"{_display(spec_dir)}:0: spec directory not found; pass --spec-dir")
        return 1
    for change in sync(spec_dir):
        print(f"updated {change}")
    return _print_report(check(spec_dir), "check after sync")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `mpksa spec check` and `mpksa spec sync`."""
    spec = subparsers.add_parser("spec", help="check the literate spec against the reference, or re-sync its code blocks")
    actions = spec.add_subparsers(dest="spec_command", metavar="ACTION", required=True)
    for name, run, text in (
        ("check", _run_check, "fail (exit 1) on drift, unquoted functions, equations without code, unnamed error codes"),
        ("sync", _run_sync, "rewrite every quoted block from the reference source, then check"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--spec-dir", default=str(default_spec_dir()),
                            help="folder of the Markdown chapters (default: %(default)s)")
        action.set_defaults(run=run)

"""The architecture, read off the import graph (issue 9).

Every top-level folder is one package; its modules may import only the layers below it:

    core         errors, params, encoding, messages, randomness, validate  (the shared contract)
    wire         mpksa.wire: codec and contract                           (the shared contract)
    reference    the reference's algorithms, profiles, round, guard, ops
    findings     the findings package
    fast         the fast implementation: the contract only, plus the client checks of pk_S and R
    vectors      generator and checker of the test vectors
    conformance  the runner
    flower       the Flower integration: the fast implementation behind Flower's mod and workflow
    demo, spec   consumers
    cli          the command line, above everything; nothing imports it

The test parses every module of the package (no import is executed), so it sees the edges that a
reviewer sees, and fails on an edge that runs from a lower layer up to a consumer, or on a cycle.
"""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"reference/mpksa": "mpksa", "fast": "mpksa.fast", "cli": "mpksa.cli", "spec": "mpksa.spec",
           "vectors": "mpksa.vectors", "conformance": "mpksa.conformance", "flower": "mpksa.flower",
           "demo": "mpksa.demo"}
CORE = {"mpksa.errors", "mpksa.params", "mpksa.encoding", "mpksa.messages", "mpksa.randomness", "mpksa.validate"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "wire": {"core"},
    "reference": {"core", "wire"},
    "findings": {"core", "reference"},
    "fast": {"core", "wire", "reference"},  # reference: the two client checks only, see below
    "vectors": {"core", "wire", "reference", "findings"},
    "conformance": {"core", "wire", "vectors"},
    "flower": {"core", "wire", "reference", "fast"},
    "demo": {"core", "wire", "reference", "fast", "flower"},
    "spec": {"core"},
    "cli": {"core", "reference", "spec", "vectors", "conformance", "demo"},
}
# The only reference names the fast implementation may use: one rule for what a client accepts.
FAST_FROM_REFERENCE = {"mpksa.aggpkgen.check_pk_s", "mpksa.chelgen.check_challenge"}
# Named exceptions: the reference served over the protocol, a template for implementers.
EXCEPTIONS = {("mpksa.conformance.reference_server", "mpksa.ops")}


def layer(module: str) -> str:
    for prefix, name in (("mpksa.wire", "wire"), ("mpksa.findings", "findings"), ("mpksa.fast", "fast"),
                         ("mpksa.vectors", "vectors"), ("mpksa.conformance", "conformance"),
                         ("mpksa.flower", "flower"), ("mpksa.demo", "demo"), ("mpksa.spec", "spec"),
                         ("mpksa.cli", "cli")):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return "core" if module in CORE else "reference"


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = (path, path.name == "__init__.py")
    return found


def imports(module: str, path: Path, is_package: bool) -> set[str]:
    """Every mpksa name the module imports: `from a.b import c` gives a.b.c; `import a.b` gives a.b."""
    package = module if is_package else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            out.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {name for name in out if name == "mpksa" or name.startswith("mpksa.")}


def resolve(name: str, known: dict[str, tuple[Path, bool]]) -> str:
    """The module a dotted name lives in: `mpksa.wire.codec.Json` -> `mpksa.wire.codec`."""
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


GRAPH = {module: {resolve(name, modules()) for name in imports(module, *where)} - {module}
         for module, where in modules().items()}


def layer_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        for target in targets:
            if layer(target) != layer(module) and target != "mpksa" and (module, target) not in EXCEPTIONS:
                edges[layer(module)].add(layer(target))
    return edges


def test_every_folder_holds_its_package() -> None:
    assert {layer(m) for m in GRAPH} == set(ALLOWED), "a layer has no module, or a module has no layer"


@pytest.mark.parametrize("source", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(source: str) -> None:
    wrong = sorted(f"{module} imports {target}" for module, targets in GRAPH.items() if layer(module) == source
                   for target in targets if target != "mpksa" and layer(target) != source
                   and layer(target) not in ALLOWED[source] and (module, target) not in EXCEPTIONS)
    assert not wrong, "\n".join(wrong)


def test_the_layers_form_no_cycle() -> None:
    order = list(graphlib.TopologicalSorter(layer_graph()).static_order())  # raises CycleError
    assert order.index("core") < order.index("reference") < order.index("cli")


def test_no_module_imports_another_in_a_cycle() -> None:
    graphlib.TopologicalSorter(GRAPH).prepare()


def test_the_fast_implementation_uses_no_reference_algorithm() -> None:
    used = {name for module, where in modules().items() if layer(module) == "fast"
            for name in imports(module, *where) if layer(resolve(name, modules())) == "reference"}
    assert used <= FAST_FROM_REFERENCE, sorted(used - FAST_FROM_REFERENCE)


def test_nothing_imports_the_command_line() -> None:
    assert not [m for m, targets in GRAPH.items() if layer(m) != "cli" and any(layer(t) == "cli" for t in targets)]


def test_readme_layout_table_names_every_folder_and_import_name() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## What is in the box"):]
    for folder, package in {**FOLDERS, "javascript": None, "benchmarks": None, "tests": None}.items():
        assert f"`{folder.split('/')[0]}/`" in table, folder
        if package:
            assert f"`{package}`" in table, package

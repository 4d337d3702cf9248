"""The literate spec (spec/) against the reference: `mpksa spec check` / `sync`, and the mkdocs build."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import mpksa.enc
import mpksa.keygen
from mpksa.spec import tool as spec_tool
from mpksa.cli import main
from mpksa.encoding import Encoding, encode_v1, recover
from mpksa.params import RSA_2048, parameter_set
from mpksa.se import associated_data

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A private copy of spec/ that a test may damage."""
    target = tmp_path / "spec"
    shutil.copytree(SPEC, target)
    return target


def block_of(spec_dir: Path, ref: str) -> spec_tool.Block:
    blocks = [e for path in spec_tool.chapters(spec_dir) for e in spec_tool.parse(path)
              if isinstance(e, spec_tool.Block) and e.ref == ref]
    assert blocks, f"no block quotes {ref}"
    return blocks[0]


def replace_lines(path: Path, start: int, stop: int, new: list[str]) -> None:
    """Replace 1-based lines start..stop (inclusive) of a file."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[start - 1:stop] = new
    path.write_text("".join(lines), encoding="utf-8")


def messages(report: spec_tool.Report) -> list[str]:
    return [str(p) for p in report.problems]


# --- the real tree -------------------------------------------------------------------------------

def test_check_passes_on_the_real_tree() -> None:
    report = spec_tool.check(SPEC)
    assert messages(report) == []
    assert report.blocks > 100 and report.equations > 30


def test_cli_check_exit_code_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "check", "--spec-dir", str(SPEC)]) == 0
    assert "spec check: OK" in capsys.readouterr().out


def test_default_spec_dir_is_the_repository_spec() -> None:
    assert spec_tool.default_spec_dir() == SPEC


# --- rule 1: a quoted block must equal its source ----------------------------------------------

def test_one_character_change_in_a_block_fails(spec_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = block_of(spec_copy, "mpksa.enc:enc_v1")
    path = block.path
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i in range(block.line, block.end - 1) if "% n2" in text[i])
    text[index] = text[index].replace("% n2", "% n3", 1)
    path.write_text("".join(text), encoding="utf-8")

    report = spec_tool.check(spec_copy)
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.path.endswith("05-protocol.md") and problem.line == block.line
    assert "mpksa.enc:enc_v1 differs from its source" in problem.message

    assert main(["spec", "check", "--spec-dir", str(spec_copy)]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"05-protocol\.md:{block.line}: block mpksa\.enc:enc_v1 differs", out)


def test_one_character_change_in_the_reference_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference function drifts (one character) while spec/ stays as it is."""
    import inspect

    source = inspect.getsource(mpksa.enc.enc_v1)
    changed = source.replace("% n2", "% n3", 1)
    assert changed != source
    module_file = tmp_path / "drifted_enc.py"
    module_file.write_text("from __future__ import annotations\nfrom mpksa.enc import *\n" + changed, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("drifted_enc", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(mpksa.enc, "enc_v1", module.enc_v1)

    report = spec_tool.check(SPEC)
    assert len(report.problems) == 1
    assert "block mpksa.enc:enc_v1 differs from its source" in report.problems[0].message
    assert "drifted_enc.py" in report.problems[0].message


def test_block_naming_an_unknown_function_fails(spec_copy: Path) -> None:
    block = block_of(spec_copy, "mpksa.keygen:key_gen")
    replace_lines(block.path, block.line, block.line, ['```python title="mpksa.keygen:key_gen_typo"\n'])
    found = messages(spec_tool.check(spec_copy))
    assert any("mpksa.keygen has no key_gen_typo" in m for m in found)
    assert any("mpksa.keygen:key_gen is not quoted" in m for m in found)


# --- rule 2: every public function of an algorithm module is quoted ----------------------------

def test_missing_function_fails(spec_copy: Path) -> None:
    block = block_of(spec_copy, "mpksa.validate:check_length")
    replace_lines(block.path, block.line, block.end, [])
    found = messages(spec_tool.check(spec_copy))
    assert len(found) == 1
    assert re.match(r".*validate\.py:\d+: mpksa\.validate:check_length is not quoted in spec/", found[0])


def test_new_reference_function_without_quote_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def key_gen_twice() -> None:
        """A public function added to an algorithm module."""

    key_gen_twice.__module__ = "mpksa.keygen"
    monkeypatch.setattr(mpksa.keygen, "key_gen_twice", key_gen_twice, raising=False)
    found = messages(spec_tool.check(SPEC))
    assert len(found) == 1 and "mpksa.keygen:key_gen_twice is not quoted" in found[0]


def test_every_module_of_an_algorithm_package_is_checked(spec_copy: Path) -> None:
    """`findings` is a package: a name defined in one of its modules must be quoted under that module."""
    checked = {name for name, module, _ in spec_tool._algorithm_modules() if module is not None}
    assert {"mpksa.findings", "mpksa.findings.common", "mpksa.findings.e4", "mpksa.findings.theorem3"} <= checked
    block = block_of(spec_copy, "mpksa.findings.e4:CraftedChallenge")
    replace_lines(block.path, block.line, block.end, [])
    found = messages(spec_tool.check(spec_copy))
    assert len(found) == 1
    assert re.match(r".*findings/e4\.py:\d+: mpksa\.findings\.e4:CraftedChallenge is not quoted", found[0])


def test_class_is_covered_whole_or_by_all_its_members(spec_copy: Path) -> None:
    whole = block_of(spec_copy, "mpksa.encoding:Encoding")
    replace_lines(whole.path, whole.line, whole.end, ['```python title="mpksa.encoding:Encoding.slot_bits"\n', "```\n"])
    spec_tool.sync(spec_copy)
    found = messages(spec_tool.check(spec_copy))
    assert len(found) == 1 and "mpksa.encoding:Encoding is not quoted" in found[0]

    members = ["q_max", "value_bound", "slots_per_segment", "segment_count"]
    quotes = "".join(f'```python title="mpksa.encoding:Encoding.{m}"\n```\n\n' for m in members)
    with (spec_copy / "04-encoding.md").open("a", encoding="utf-8") as handle:
        handle.write("\n" + quotes)
    spec_tool.sync(spec_copy)
    assert messages(spec_tool.check(spec_copy)) == []


def test_module_that_does_not_exist_is_skipped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_tool, "ALGORITHM_MODULES", spec_tool.ALGORITHM_MODULES + ("no_such_module",))
    report = spec_tool.check(SPEC)
    assert report.problems == []
    assert "note: mpksa.no_such_module is not importable: skipped" in report.notes


# --- rule 3: every equation is followed by its code --------------------------------------------

def test_equation_without_code_fails(spec_copy: Path) -> None:
    path = spec_copy / "05-protocol.md"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    heading = next(i for i, line in enumerate(lines) if line.startswith("## 5.13"))
    lines[heading:heading] = ["$$\n", "x = y + 1\n", "$$\n", "\n"]
    path.write_text("".join(lines), encoding="utf-8")
    found = messages(spec_tool.check(spec_copy))
    assert found == [f"{spec_tool._display(path)}:{heading + 1}: equation has no reference code block "
                     "after it (before the next heading or equation)"]


def test_equation_followed_by_unmarked_code_or_another_equation_fails(spec_copy: Path) -> None:
    path = spec_copy / "02-notation.md"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n## Extra\n\n$$ a = b $$\n\n```python\nprint(1)\n```\n\n$$ c = d $$\n\n")
        handle.write('```python title="mpksa.keygen:key_gen"\n```\n')
    spec_tool.sync(spec_copy)
    found = messages(spec_tool.check(spec_copy))
    assert len(found) == 1 and "equation has no reference code block" in found[0]


def test_equation_inside_a_code_block_is_not_an_equation(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# T\n\n````markdown\n$$\nx\n$$\n## not a heading\n````\n", encoding="utf-8")
    events = list(spec_tool.parse(page))
    assert [type(e).__name__ for e in events] == ["Heading", "Block"]


# --- rule 4: every error code is named ---------------------------------------------------------

def test_error_code_not_named_fails(spec_copy: Path) -> None:
    for path in spec_tool.chapters(spec_copy):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("`rerun-refused`", "rerun-refused"), encoding="utf-8")
    found = messages(spec_tool.check(spec_copy))
    assert len(found) == 1 and "error code `rerun-refused`" in found[0]


# --- sync ---------------------------------------------------------------------------------------

def test_sync_repairs_a_drifted_block(spec_copy: Path) -> None:
    original = (spec_copy / "04-encoding.md").read_text(encoding="utf-8")
    block = block_of(spec_copy, "mpksa.encoding:recover")
    replace_lines(block.path, block.line + 1, block.end - 1, ["def recover(total, a):\n", "    return []\n"])
    assert len(spec_tool.check(spec_copy).problems) == 1

    changed = spec_tool.sync(spec_copy)
    assert len(changed) == 1 and changed[0].endswith("mpksa.encoding:recover")
    assert spec_tool.check(spec_copy).problems == []
    assert (spec_copy / "04-encoding.md").read_text(encoding="utf-8") == original
    assert spec_tool.sync(spec_copy) == []


def test_sync_command_reports_and_passes(spec_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = block_of(spec_copy, "mpksa.resgen:res_gen")
    replace_lines(block.path, block.line + 1, block.line + 1, ["def res_gen(params, challenge, sk_i):\n"])
    assert main(["spec", "sync", "--spec-dir", str(spec_copy)]) == 0
    out = capsys.readouterr().out
    assert "updated" in out and "mpksa.resgen:res_gen" in out and "OK" in out


def test_missing_spec_dir_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "check", "--spec-dir", str(tmp_path / "nowhere")]) == 1
    assert "spec directory not found" in capsys.readouterr().out


# --- facts stated in the spec, recomputed independently -----------------------------------------

def chapter(name: str) -> str:
    return (SPEC / name).read_text(encoding="utf-8")


def test_rsa_2048_statement() -> None:
    text = chapter("03-parameters.md")
    digits = str(RSA_2048)
    assert len(digits) == 617 and "617 digits" in text
    assert hashlib.sha256(digits.encode()).hexdigest() in text


def test_small_parameter_values_in_chapter_3() -> None:
    text = chapter("03-parameters.md")
    p, q, g = (int(re.search(rf"\${name}\$ = (\d+)", text)[1]) for name in ("p", "q", "g"))
    assert sympy.isprime(p) and sympy.isprime(q) and p == 2 * q + 1
    assert g != 1 and pow(g, q, p) == 1
    assert (p, q, g) == (parameter_set("paper-test").p, parameter_set("paper-test").q, parameter_set("paper-test").g)
    big_p, big_q = (int(re.search(rf"\${name}\$ = (\d+)", text)[1]) for name in ("P", "Q"))
    assert sympy.isprime(big_p) and sympy.isprime(big_q)
    assert big_p * big_q == parameter_set("v1-test-512").n
    n_hex = format(parameter_set("v1-test-512").n, "x")
    assert f"`{n_hex[:16]}` | `{n_hex[-16:]}` | {len(n_hex)}" in text


def test_worked_example_of_chapter_4() -> None:
    """Slot arithmetic by hand (b = 5, V = 4), against the reference encoder."""
    enc = Encoding(frac_bits=2, clip=1.0, weight_max=1, max_clients=3)
    by_hand = [sum(v << (5 * t) for t, v in enumerate(slots)) for slots in ([5, 2, 8, 5], [0, 4, 6, 5])]
    assert by_hand == [172101, 170112]
    assert encode_v1([1, -2, 4], 1, enc, 512) == [by_hand[0]]
    assert encode_v1([-4, 0, 2], 1, enc, 512) == [by_hand[1]]
    text = chapter("04-encoding.md")
    assert "172101" in text and "170112" in text and str(sum(by_hand)) in text


def test_negative_values_example_of_chapter_7() -> None:
    a = [401**t for t in range(4)]
    total = 7 - 2 * 401 - 5 * 401**2 + 10 * 401**3
    assert total == 644007210 and "644007210" in chapter("07-security.md")
    assert recover(total, a) == [7, 399, 395, 9]


def test_associated_data_example_of_chapter_6() -> None:
    expected = "4d504b53412d5345" "7631" "0000000000000007" "00000003"
    assert b"MPKSA-SE".hex() + b"v1".hex() + (7).to_bytes(8, "big").hex() + (3).to_bytes(4, "big").hex() == expected
    assert associated_data(parameter_set("v1-test-512"), 7, 3).hex() == expected
    assert "`4d504b53412d5345` `7631` `0000000000000007` `00000003`" in chapter("06-encodings.md")


# --- rendering ----------------------------------------------------------------------------------

def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for page in ("01-overview", "05-protocol", "07-security"):
        html = (site / page / "index.html").read_text(encoding="utf-8")
        assert 'class="arithmatex"' in html
    assert "mpksa.enc:enc_v1" in (site / "05-protocol" / "index.html").read_text(encoding="utf-8")
    # Offline: every script and stylesheet of every page is a file of the site itself (MathJax
    # included), and the checker's Python modules are not published with it.
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for ref in re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', html):
            if ref.startswith(("http:", "https:", "//")):
                assert not ref.endswith((".js", ".css")), f"{page.relative_to(site)} loads {ref} from the network"
    scripts = re.findall(r'<script src="([^"]+)"', (site / "05-protocol" / "index.html").read_text(encoding="utf-8"))
    mathjax = [ref for ref in scripts if "tex-svg" in ref]
    assert mathjax and (site / "05-protocol" / mathjax[0]).resolve().is_file(), scripts
    assert not list(site.rglob("*.py"))


def test_tests_named_in_chapter_7_exist() -> None:
    """Every test chapter 7 names as a demonstration is defined in the test files it names."""
    text = chapter("07-security.md")
    named = set(re.findall(r"`(test_\w+)`", text))
    defined = set()
    for name in ("test_findings.py", "test_theorems.py", "test_hardening.py"):
        defined |= set(re.findall(r"^def (test_\w+)\(", (ROOT / "tests" / name).read_text(encoding="utf-8"), re.M))
    assert len(named) >= 15
    assert named <= defined, sorted(named - defined)

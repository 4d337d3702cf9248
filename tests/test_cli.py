"""The `mpksa` command line: its own subcommand `round`, and bad arguments refused with a reason."""

from __future__ import annotations

import pytest

from mpksa import __version__
from mpksa.cli import main


def test_round_on_the_test_modulus_decrypts_the_plaintext_sum(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["round", "--params", "v1-test-512", "--clients", "3", "--dim", "40"]) == 0
    out = capsys.readouterr().out
    assert "|S| = 3, 40 values" in out and "decrypted sum equals plaintext sum: True" in out


def test_round_defaults_to_v2_on_the_rsa_modulus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["round", "--clients", "3", "--dim", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("parameter set v2-rsa2048:") and "decrypted sum equals plaintext sum: True" in out


@pytest.mark.parametrize("args, rule", [
    (["--dim", "-5"], "--dim: -5 must lie in [1, 10000000]"),
    (["--dim", "0"], "--dim: 0 must lie in [1, 10000000]"),
    (["--dim", "ten"], "--dim: 'ten' is not an integer"),
    (["--clients", "0"], "--clients: 0 must lie in [1, 1000]"),
])
def test_round_refuses_bad_sizes_before_it_starts(args: list[str], rule: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["round", "--params", "v1-test-512", *args])
    assert exit_info.value.code == 2
    assert rule in capsys.readouterr().err


def test_a_typed_error_is_one_line_with_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["round", "--params", "v1-test-512", "--clients", "1", "--dim", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "mpksa: error [too-few-clients]: |S| = 1; the v1 profile needs |S| >= 2\n"


def test_an_unknown_parameter_set_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["round", "--params", "v1-test-521"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter set 'v1-test-521'" in err and "v1-test-512" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"mpksa {__version__}"

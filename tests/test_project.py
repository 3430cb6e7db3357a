"""Project-level rules: the engine never imports a DCC; README and CI agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST_MODULES = {"bpy", "hou", "pxr", "maya"}


def test_engine_never_imports_a_host():
    offenders = []
    for path in (ROOT / "engine" / "billow").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                    "import_module", "find_spec") and node.args and isinstance(
                    node.args[0], ast.Constant):
                # find_spec("bpy") only locates the wheel's bundled OpenVDB, never imports it
                if node.func.attr == "import_module":
                    names = [node.args[0].value]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in HOST_MODULES]
    assert not offenders, offenders


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [b.strip() for b in blocks[:2]]


def test_readme_starts_with_two_commands_and_ci_runs_the_second():
    demo, tests = readme_commands()
    assert "\n" not in demo and "\n" not in tests
    assert "pip install" in demo and "pip install" in tests and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_version_is_defined_once():
    import billow

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "billow._version.__version__" }' in pyproject
    assert re.fullmatch(r"\d+\.\d+\.\d+", billow.__version__)


def test_cli_summaries_match_the_commands_and_start_up_is_light():
    import argparse
    import subprocess
    import sys

    from billow.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert helps == COMMANDS
    # `billow --version` (what the DCC add-ons call) must not import torch
    code = ("import sys; from billow.cli import main\n"
            "try: main(['--version'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_command_prints_its_help(capsys):
    """`billow <command> --help` renders every option's text (a bare "%" in an option's help
    once broke `train --help` and `finetune --help` with a TypeError)."""
    import pytest

    from billow.cli import COMMANDS, build_parser
    from billow.commands.uv import UV_COMMANDS

    argvs = [[name] for name in COMMANDS] + [["uv", name] for name in UV_COMMANDS]
    for argv in argvs:
        with pytest.raises(SystemExit) as stop:
            build_parser(only=argv[0]).parse_args([*argv, "--help"])
        assert stop.value.code == 0, argv
        assert "usage: " in capsys.readouterr().out, argv


def test_main_restores_the_hosts_terminate_handlers(capsys):
    """In-process callers (an embedding host) get their SIGTERM handler back after a command,
    also when it failed."""
    import signal

    from billow.cli import TERMINATE_SIGNALS, main

    def host(signum, frame):
        pass

    before = {s: signal.signal(s, host) for s in TERMINATE_SIGNALS}
    try:
        assert main(["info", "/no/such/file.vdb"]) == 2
        assert all(signal.getsignal(s) is host for s in TERMINATE_SIGNALS)
    finally:
        for s, h in before.items():
            signal.signal(s, h)
    assert "error" in capsys.readouterr().err

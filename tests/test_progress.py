"""Progress events carry an ETA (issue 20: eval and upres say how long is left)."""

import json

from billow.progress import Progress, format_seconds


def test_json_and_log_carry_eta(capsys):
    with Progress(4, "eval", "json") as p:
        p.step(frame=1)
        p.step(frame=2)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frames = [e for e in events if e["event"] == "frame"]
    assert all("eta" in e and e["eta"] >= 0 for e in frames)
    with Progress(3, "eval", "log") as p:
        p.step(frame=7)
    assert "[eval] 1/3 eta " in capsys.readouterr().err


def test_format_seconds():
    assert format_seconds(42) == "42s"
    assert format_seconds(185) == "3m05s"
    assert format_seconds(7620) == "2h07m"


def test_the_client_reads_what_the_engine_writes(capsys):
    """Both ends of the `--progress json` protocol: the engine's Progress writes, the client the
    add-ons vendor (billow.client) reads, stray library output included."""
    from billow.client import ProgressReader

    with Progress(3, "upres", "json") as p:
        p.step(frame=11, file="/o/hi.0011.vdb")
        print("a library printing to stdout")
        p.warn("frame 12 is empty")
        p.step(frame=12)
    reader = ProgressReader()
    kinds = [reader.feed(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert kinds == ["start", "frame", "log", "warning", "frame", "end"]
    s = reader.state
    assert (s.task, s.total, s.done, s.frame, s.finished) == ("upres", 3, 2, 12, True)
    assert s.files == ["/o/hi.0011.vdb"]
    assert s.messages == ["a library printing to stdout", "frame 12 is empty"]


def test_the_client_finds_the_engines_error_line(tmp_path):
    import subprocess
    import sys

    from billow.client import EXIT_INPUT, engine_error

    r = subprocess.run([sys.executable, "-m", "billow", "upres", str(tmp_path / "s.####.vdb"),
                        str(tmp_path / "o.####.vdb"), "--frames", "1-x"], capture_output=True,
                       text=True)
    assert r.returncode == EXIT_INPUT
    assert engine_error(r.stderr.splitlines(), r.returncode) == \
        "frame range '1-x': cannot read '1-x' (expected 12, 1-100 or 1-100x2)"

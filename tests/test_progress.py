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

import pytest

from grids.cli.main import build_parser, main


def test_every_command_group_is_registered():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"data", "bench", "flops", "latency"} <= set(commands)


def test_unknown_command_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["teleport"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'teleport'" in capsys.readouterr().err

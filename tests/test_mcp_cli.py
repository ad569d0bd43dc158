from __future__ import annotations

from typer.testing import CliRunner

from apipilot.ui.cli import app

runner = CliRunner()


def test_mcp_help_lists_the_options() -> None:
    result = runner.invoke(app, ["mcp", "--help"])
    assert result.exit_code == 0
    for option in ("--http", "--host", "--port", "--home", "--llm", "--allow-write"):
        assert option in result.output


def test_mcp_refuses_a_bad_lm_spec_before_serving() -> None:
    result = runner.invoke(app, ["mcp", "--llm", "gpt:whatever"])
    assert result.exit_code == 1
    assert "bad LM spec 'gpt:whatever'" in result.output

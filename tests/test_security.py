"""Keys and code are guarded: no key in any output, each key only to its provider, a
workspace cannot redirect anything, excluded files never leave, secrets go out as placeholders."""

from __future__ import annotations

import asyncio
import json
import os
import re

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.fake_provider import Echo, FakeProvider, RecordedRequest, Reply, Status
from tests.lsp_support import apply_text_edits, edits_of, start_session, stop_session
from tests.support import config_dict, switchboard, toml

KEY_P = "sk-live-PPPPPPPP-0123456789abcdef"
KEY_Q = "sk-live-QQQQQQQQ-fedcba9876543210"
CODE = "def add(a, b):\n    return a - b\n"
FIXED = "```python\ndef add(a, b):\n    return a + b\n```"

AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
KEY_LINES = ("MIIEpAIBAAKCAQEA7bq98n5R2TtNnqmR0n7vC2rW", "Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHd2dXRz")
SECRETS = (AWS, GITHUB, *KEY_LINES)
SECRET_CODE = (
    "import boto3\n"
    "\n"
    f'AWS_KEY = "{AWS}"\n'
    f'TOKEN = "{GITHUB}"\n'
    'KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
    f"{KEY_LINES[0]}\n"
    f"{KEY_LINES[1]}\n"
    '-----END RSA PRIVATE KEY-----"""\n'
    "\n"
    "\n"
    "def connect():\n"
    '    return boto3.client("s3", aws_access_key_id=AWS_KEY , region_name="eu-west-1")\n'
)


def tweak_target(request: RecordedRequest) -> str:
    """A model that fixes the spacing in the lines it was given, placeholders untouched."""
    match = re.search(
        r"Lines to change \(lines \d+-\d+\):\n(`{3,})python\n(.*?)\n\1", request.prompt_text, re.S
    )
    assert match, request.prompt_text
    return "```python\n" + match.group(2).replace("AWS_KEY , ", "AWS_KEY, ") + "\n```"


@pytest.fixture
def two_providers(fake):
    other = FakeProvider().start()
    yield fake, other
    other.stop()


def keyed_config(tmp_path, p_url, q_url, **sections):
    raw = config_dict(
        tmp_path,
        {"keyed_p": p_url, "keyed_q": q_url},
        {"fast": {"provider": "keyed_p"}, "backup": {"provider": "keyed_q"}},
        {"fix": ["fast", "backup"], "explain": ["fast", "backup"], "review": ["backup"]},
        tasks={"explain": {"hedge": False}},
        **sections,
    )
    path = tmp_path / "user-config.toml"
    path.write_text(toml(raw))
    return path


KEY_ENV = {"KEY_KEYED_P": KEY_P, "KEY_KEYED_Q": KEY_Q}


def leaked(text: str) -> list[str]:
    return [key for key in (KEY_P, KEY_Q) if key in text]


@pytest.mark.slow
def test_no_key_in_any_cli_output_log_or_file_even_at_debug_level(two_providers, tmp_path):
    p, q = two_providers
    # A provider that quotes the rejected key back in its error body.
    p.default(
        "fast", Status(401, body={"error": {"message": f"Incorrect API key provided: {KEY_P}"}})
    )
    q.default("backup", Reply(FIXED))
    config = keyed_config(tmp_path, p.base_url, q.base_url)
    (tmp_path / "calc.py").write_text(CODE)
    env = {**KEY_ENV, "SWITCHBOARD_CONFIG": str(config)}
    outputs = []
    for args in (
        ["-vv", "fix", "calc.py", "--line", "2", "--json"],
        ["-vv", "fix", "calc.py", "--line", "1", "--end-line", "2"],
        ["-vv", "explain", "calc.py", "--line", "1", "--json"],
        ["-vv", "stats", "--json"],
        ["-vv", "stats"],
        ["-vv", "config", "check"],
    ):
        result = switchboard(*args, cwd=tmp_path, env=env)
        outputs.append(result.stdout + result.stderr)
    everything = "\n".join(outputs)
    assert "rejected the API key" in everything  # the user was told…
    assert "[redacted]" in everything  # …with the quoted key struck out
    assert leaked(everything) == []
    for path in tmp_path.glob("*.sqlite*"):
        assert leaked(path.read_bytes().decode("latin-1")) == [], path.name
    # And each provider saw only its own key.
    assert {r.headers["authorization"] for r in p.requests} == {f"Bearer {KEY_P}"}
    assert {r.headers["authorization"] for r in q.requests} == {f"Bearer {KEY_Q}"}


async def test_no_key_in_anything_the_language_server_says(two_providers, tmp_path, capfd):
    p, q = two_providers
    p.default("fast", Status(401, body={"error": {"message": f"bad key {KEY_P}"}}))
    q.default("backup", Reply(FIXED))
    config = keyed_config(tmp_path, p.base_url, q.base_url)
    session = await start_session(
        tmp_path,
        config,
        env={**os.environ, **KEY_ENV},
        configuration={"logLevel": "debug", "hover": {"delayMs": 0}},
    )
    try:
        uri = session.open("calc.py", CODE)
        await asyncio.sleep(0.2)
        actions = await session.code_actions(
            uri,
            types.Range(
                start=types.Position(line=1, character=0), end=types.Position(line=1, character=0)
            ),
            [
                types.Diagnostic(
                    range=types.Range(
                        start=types.Position(line=1, character=4),
                        end=types.Position(line=1, character=16),
                    ),
                    message="wrong op",
                )
            ],
        )
        fix = next(a for a in actions if a.kind == "quickfix")
        await session.client.code_action_resolve_async(fix)
        await session.hover(uri, 0, 5)
        stats = await session.command("switchboard.stats")
    finally:
        await stop_session(session)
    said = "\n".join(
        [m.message for m in session.client.messages]
        + [m.message for m in session.client.log_messages]
        + [json.dumps(stats), json.dumps(session.status)]
    )
    assert any("rejected the API key" in m.message for m in session.client.messages)
    stderr = capfd.readouterr().err
    assert leaked(said + stderr) == []


@pytest_asyncio.fixture
async def evil(fake):
    """A second server standing for wherever a hostile repository would like code sent."""
    with FakeProvider() as attacker:
        yield attacker


async def test_a_project_file_cannot_add_providers_change_urls_or_set_keys(fake, evil, tmp_path):
    fake.default("fast", Reply(FIXED))
    evil.default(None, Reply(FIXED))
    config = keyed_config(tmp_path, fake.base_url, fake.base_url)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / ".switchboard.toml").write_text(
        toml(
            {
                "providers": {
                    "keyed_p": {"base_url": evil.base_url},
                    "evil": {"base_url": evil.base_url, "api_key": "stolen"},
                },
                "models": {"fast": {"provider": "evil", "model": "fast"}},
                "cache": {"path": str(tmp_path / "elsewhere.sqlite")},
                "privacy": {"redact_secrets": False},
                "routes": {"explain": ["backup"]},
            }
        )
    )
    session = await start_session(tmp_path, config, env={**os.environ, **KEY_ENV})
    try:
        uri = session.open("calc.py", CODE)
        fix = next(
            a
            for a in await session.code_actions(
                uri,
                types.Range(
                    start=types.Position(line=0, character=0),
                    end=types.Position(line=1, character=0),
                ),
                [
                    types.Diagnostic(
                        range=types.Range(
                            start=types.Position(line=1, character=0),
                            end=types.Position(line=1, character=5),
                        ),
                        message="m",
                    )
                ],
            )
            if a.kind == "quickfix"
        )
        resolved = await session.client.code_action_resolve_async(fix)
        assert resolved.edit is not None
        warnings = [m.message for m in session.client.messages if "ignored" in m.message]
    finally:
        await stop_session(session)
    assert evil.requests == []
    assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {KEY_P}"]
    assert len(warnings) == 1
    assert all(
        word in warnings[0] for word in ("cache", "models", "providers", "privacy.redact_secrets")
    )
    assert not (tmp_path / "elsewhere.sqlite").exists()


async def test_initialization_options_cannot_add_a_provider_or_key(fake, evil, tmp_path):
    fake.default("fast", Reply("explained"))
    config = keyed_config(tmp_path, fake.base_url, fake.base_url)
    session = await start_session(
        tmp_path,
        config,
        env={**os.environ, **KEY_ENV},
        initialization_options={
            "providers": {"keyed_p": {"baseUrl": evil.base_url}},
            "apiKey": "sk-from-workspace",
            "hover": {"delayMs": 0},
        },
    )
    try:
        uri = session.open("calc.py", CODE)
        hover = await session.hover(uri, 0, 5)
    finally:
        await stop_session(session)
    assert hover is not None and evil.requests == []
    assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {KEY_P}"]
    [warning] = [m.message for m in session.client.messages if "ignored" in m.message]
    assert "api_key" in warning and "providers" in warning


def test_plain_http_to_a_remote_host_is_refused_unless_the_user_allows_it(tmp_path):
    for allow, expected in ((False, 2), (True, 0)):
        raw = config_dict(
            tmp_path,
            {"remote": "http://203.0.113.9/v1"},
            {"m": {"provider": "remote"}},
            {"fix": ["m"]},
        )
        raw["providers"]["remote"]["allow_insecure_http"] = allow
        path = tmp_path / "c.toml"
        path.write_text(toml(raw))
        result = switchboard("--config", str(path), "config", "check", cwd=tmp_path)
        assert result.returncode == expected, result.stderr
        if not allow:
            assert "providers.remote.base_url" in result.stderr and "plain http" in result.stderr


@pytest.mark.slow
async def test_excluded_files_get_nothing_and_send_nothing(fake, tmp_path):
    fake.default(None, Reply(FIXED))
    config = keyed_config(tmp_path, fake.base_url, fake.base_url)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / ".switchboardignore").write_text("secret/\n*.private.py\n")
    session = await start_session(
        tmp_path, config, env={**os.environ, **KEY_ENV}, configuration={"hover": {"delayMs": 0}}
    )
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=1, character=5)
    )
    diag = [types.Diagnostic(range=whole, message="m")]
    try:
        for name in ("secret/db.py", "keys.private.py", ".env.production", "server.pem"):
            uri = session.open(name, CODE)
            assert await session.code_actions(uri, whole, diag) == [], name
            assert await session.hover(uri, 0, 5) is None, name
            result = await session.command("switchboard.review", uri)
            assert result["findings"] == 0 and "excluded" in result["error"], name
        assert fake.requests == []
        allowed = session.open("public.py", CODE)
        assert await session.code_actions(allowed, whole, diag) != []
    finally:
        await stop_session(session)


@pytest.mark.slow
async def test_secrets_go_out_as_placeholders_and_come_back_in_the_edit(fake, tmp_path):
    fake.default("fast", Echo(tweak_target))
    config = keyed_config(tmp_path, fake.base_url, fake.base_url)
    session = await start_session(tmp_path, config, env={**os.environ, **KEY_ENV})
    try:
        uri = session.open("aws.py", SECRET_CODE)
        last = SECRET_CODE.count("\n") - 1
        actions = await session.code_actions(
            uri,
            types.Range(
                start=types.Position(line=2, character=0),
                end=types.Position(line=last, character=10),
            ),
            [
                types.Diagnostic(
                    range=types.Range(
                        start=types.Position(line=2, character=0),
                        end=types.Position(line=last, character=10),
                    ),
                    message="E203 whitespace before ','",
                )
            ],
        )
        fix = next(a for a in actions if a.kind == "quickfix")
        resolved = await session.client.code_action_resolve_async(fix)
    finally:
        await stop_session(session)
    [request] = fake.requests
    sent = request.body.decode("utf-8")
    assert [s for s in SECRETS if s in sent] == []
    assert "__SWB_SECRET_" in sent
    _, edits = edits_of(resolved.edit, uri)
    fixed = apply_text_edits(SECRET_CODE, edits)
    assert fixed == SECRET_CODE.replace("AWS_KEY , ", "AWS_KEY, ")


async def test_hovering_a_secret_never_sends_it(fake, tmp_path):
    fake.default("fast", Reply("A token for the GitHub API."))
    config = keyed_config(tmp_path, fake.base_url, fake.base_url)
    session = await start_session(
        tmp_path,
        config,
        env={**os.environ, **KEY_ENV},
        configuration={"hover": {"delayMs": 0}},
    )
    try:
        uri = session.open("aws.py", SECRET_CODE)
        for line, character in ((2, 15), (3, 12), (5, 3), (3, 1)):  # on each secret, then a name
            hover = await session.hover(uri, line, character)
            assert hover is not None and "GitHub API" in hover.contents.value
    finally:
        await stop_session(session)
    sent = [r.body.decode("utf-8") for r in fake.requests]
    assert len(sent) == 4
    assert [s for s in SECRETS for body in sent if s in body] == []
    assert "Explain `TOKEN` on line 4" in sent[-1]


@pytest.mark.slow
def test_the_cli_redacts_too_and_restores_on_apply(fake, tmp_path):
    fake.default("fast", Echo(tweak_target))
    config = keyed_config(tmp_path, fake.base_url, fake.base_url)
    target = tmp_path / "aws.py"
    target.write_text(SECRET_CODE)
    last = str(SECRET_CODE.count("\n"))
    result = switchboard(
        *("fix", "aws.py", "--line", "3", "--end-line", last, "--apply"),
        cwd=tmp_path,
        env={**KEY_ENV, "SWITCHBOARD_CONFIG": str(config)},
    )
    assert result.returncode == 0, result.stderr
    assert [s for s in SECRETS if s in fake.requests[0].body.decode()] == []
    assert target.read_text() == SECRET_CODE.replace("AWS_KEY , ", "AWS_KEY, ")
    # Secrets are not in the cache either: it holds what the model saw.
    for path in tmp_path.glob("cache.sqlite*"):
        assert [s for s in SECRETS if s in path.read_bytes().decode("latin-1")] == []

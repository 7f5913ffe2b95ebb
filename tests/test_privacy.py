"""Secrets never leave in a prompt, and come back in the answer; excluded files never leave."""

from __future__ import annotations

from switchboard.tasks.privacy import Redactor, exclusion_rule

AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
KEY_BLOCK = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA7bq98n5R2TtNnqmR0n7vC2rW\n"
    "Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHd2dXRzcnFw\n"
    "-----END RSA PRIVATE KEY-----"
)


def test_redaction_replaces_every_kind_of_secret_and_restores_them():
    text = (
        f'aws_key = "{AWS}"\n'
        f'token = "{GITHUB}"\n'
        'password = "correct-horse"\n'
        f'KEY = """{KEY_BLOCK}"""\n'
        "normal = 'hello'\n"
    )
    redactor = Redactor()
    redacted = redactor.redact(text)
    for secret in (AWS, GITHUB, "correct-horse", "MIIEpAIBAAKCAQEA7bq98n5R2TtNnqmR0n7vC2rW"):
        assert secret not in redacted
    assert "normal = 'hello'" in redacted
    assert redacted.count("\n") == text.count("\n")  # line numbers stay true
    assert redactor.restore(redacted) == text


def test_the_same_secret_gets_the_same_placeholder():
    redactor = Redactor()
    redacted = redactor.redact(f"a = '{AWS}'\nb = '{AWS}'\n")
    assert redacted.count("__SWB_SECRET_1__") == 2


def test_redaction_can_be_switched_off():
    assert Redactor(enabled=False).redact(f"k = '{AWS}'") == f"k = '{AWS}'"


def test_default_exclusions(tmp_path):
    for name in (".env", ".env.local", "server.pem", "tls.key", "id_rsa", "id_rsa.pub"):
        assert exclusion_rule(tmp_path / name) is not None, name
    assert exclusion_rule(tmp_path / "main.py") is None


def test_switchboardignore_in_a_parent_folder_applies(tmp_path):
    (tmp_path / ".switchboardignore").write_text("secrets/\n*.generated.py\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "src").mkdir()
    assert exclusion_rule(tmp_path / "secrets" / "db.py", root=tmp_path) is not None
    assert exclusion_rule(tmp_path / "src" / "api.generated.py", root=tmp_path) is not None
    assert exclusion_rule(tmp_path / "src" / "api.py", root=tmp_path) is None


def test_configured_exclusions(tmp_path):
    assert exclusion_rule(tmp_path / "x.sql", ["*.sql"]) is not None

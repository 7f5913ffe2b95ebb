"""Redaction skips the patterns whose literals are absent from the text; the result must be
exactly what running every pattern gives."""

from __future__ import annotations

from switchboard.tasks import privacy
from switchboard.tasks.privacy import Redactor

SAMPLES = [
    "def total(items):\n    return sum(i.price for i in items)\n",
    'AWS_ID = "AKIAIOSFODNN7EXAMPLE"\n',
    'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYab"\n',
    "token = ghp_" + "a" * 36 + "\n",
    "pat = github_pat_" + "B" * 30 + "\n",
    "gitlab = glpat-" + "c" * 20 + "\n",
    "slack = xoxb-1234567890-abcdef\n",
    "OPENAI = sk-proj-" + "d" * 24 + "\n",
    "google = AIza" + "e" * 35 + "\n",
    "jwt = eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4\n",
    "stripe = sk_live_" + "f" * 20 + "\n",
    'password = "hunter22"\nDB_PASSWD: \'s3cr3t!!\'\n"apiKey": "abcd1234"\n',
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    # A placeholder spells SECRET: the keyword pattern must still see what follows it.
    'AKIAIOSFODNN7EXAMPLE = "value-after-a-key"\n',
    # Non-ASCII text runs every pattern (IGNORECASE matches the Kelvin sign and the long s).
    'pa\u017fsword = "hunter22"\nto\u212aen = "abcd1234"\n',
    "naïve = 1  # no secret here\n",
]


def unfiltered(text: str) -> str:
    redactor = Redactor()
    text = privacy._KEY_BLOCK.sub(redactor._replace_key_block, text)
    for pattern, _ in privacy._SECRET_PATTERNS:
        text = pattern.sub(redactor._replace, text)
    return text


def test_prefiltered_redaction_equals_running_every_pattern() -> None:
    for sample in [*SAMPLES, "".join(SAMPLES)]:
        assert Redactor().redact(sample) == unfiltered(sample), sample


def test_every_secret_sample_is_redacted() -> None:
    for sample in SAMPLES[1:-1]:
        assert "__SWB_SECRET_" in Redactor().redact(sample), sample

"""aml_token scoring tokens: valid for their endpoint until they expire, and for nothing
else."""

from __future__ import annotations

from orchard.security.endpoint_tokens import TOKEN_SECONDS, issue_token, token_valid

NOW = 1_800_000_000.0


def test_a_token_is_valid_for_its_endpoint_until_it_expires() -> None:
    token, expires = issue_token("key-1", "ep", NOW)
    assert expires == NOW + TOKEN_SECONDS
    assert token_valid("key-1", "ep", token, NOW + TOKEN_SECONDS - 1)
    assert not token_valid("key-1", "ep", token, NOW + TOKEN_SECONDS)
    assert not token_valid("key-1", "other", token, NOW)
    assert not token_valid("key-2", "ep", token, NOW)


def test_tampered_and_malformed_tokens_are_refused() -> None:
    token, _ = issue_token("key-1", "ep", NOW)
    claims, _, signature = token.partition(".")
    forged_claims, _ = issue_token("key-1", "ep", NOW + 10 * TOKEN_SECONDS)
    for bad in (
        "",
        "no-dot",
        f"{claims}.",
        f"{forged_claims.partition('.')[0]}.{signature}",  # later expiry, old signature
        f"{claims}.{signature}x",
        f"{claims}.!!!",
        "e30.e30",
    ):
        assert not token_valid("key-1", "ep", bad, NOW), bad

import pytest

from service.config import ConfigError, Settings


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.claim_strategy == "conditional"
    assert settings.read_policy == "primary"
    assert settings.defects == frozenset()
    assert settings.hold_ttl_s == 900


def test_environment_values_are_typed() -> None:
    settings = Settings.from_env(
        {
            "TICKETLAB_HOLD_TTL_S": "1.5",
            "TICKETLAB_DB_POOL_SIZE": "7",
            "TICKETLAB_SWEEPER_ENABLED": "off",
            "TICKETLAB_DEFECTS": "fd-leak, pool-leak",
        }
    )
    assert settings.hold_ttl_s == 1.5
    assert settings.db_pool_size == 7
    assert settings.sweeper_enabled is False
    assert settings.defects == {"fd-leak", "pool-leak"}


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TICKETLAB_CLAIM_STRATEGY", "yolo", "TICKETLAB_CLAIM_STRATEGY"),
        ("TICKETLAB_DEFECTS", "fd-leak,bogus", "bogus"),
        ("TICKETLAB_HOLD_TTL_S", "soon", "TICKETLAB_HOLD_TTL_S"),
        ("TICKETLAB_SWEEPER_ENABLED", "maybe", "TICKETLAB_SWEEPER_ENABLED"),
        ("TICKETLAB_DB_URL", "postgres://x@y/z", "TICKETLAB_DB_URL"),
        ("TICKETLAB_KEY_PREFIX", "a:b", "TICKETLAB_KEY_PREFIX"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(variable: str, value: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env({variable: value})


def test_keys_carry_the_prefix() -> None:
    assert Settings(key_prefix="run7").key("hold", 3) == "run7:hold:3"


@pytest.mark.parametrize(
    "issuer",
    ["http://127.0.0.1:9000", "http://127.8.9.10", "http://localhost:9000", "http://[::1]:9000"],
)
def test_the_public_jwt_secret_is_only_a_warning_with_a_loopback_issuer(issuer: str) -> None:
    warning = Settings(oidc_issuer=issuer).check_for_serving()
    assert warning is not None and "TICKETLAB_JWT_SECRET" in warning


@pytest.mark.parametrize(
    "issuer",
    [
        "https://accounts.google.com",
        "http://10.0.0.5:9000",
        "http://127.0.0.1.example.com",
        "http://localhost.example.com",
        "http://[::ffff:8.8.8.8]",
        "",
    ],
)
def test_the_public_jwt_secret_with_a_real_issuer_is_refused(issuer: str) -> None:
    with pytest.raises(ConfigError, match="TICKETLAB_JWT_SECRET"):
        Settings(oidc_issuer=issuer).check_for_serving()


def test_a_jwt_secret_of_ones_own_needs_no_warning() -> None:
    assert Settings(jwt_secret="s" * 40).check_for_serving() is None
    real = Settings(jwt_secret="s" * 40, oidc_issuer="https://accounts.google.com")
    assert real.check_for_serving() is None


def test_the_dev_secret_is_checked_only_when_serving() -> None:
    # migrate and seed never touch tokens, so building the settings alone never refuses.
    assert Settings.from_env({"TICKETLAB_OIDC_ISSUER": "https://accounts.google.com"})

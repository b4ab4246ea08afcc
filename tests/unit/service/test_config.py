import pytest

from service.config import PUBLIC_PSP_TEST_KEY, ConfigError, Settings


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


OWN_SECRETS = {"jwt_secret": "s" * 40, "psp_webhook_secret": "w" * 40}
LOOPBACK = "127.0.0.1"


@pytest.mark.parametrize(
    "issuer",
    ["http://127.0.0.1:9000", "http://127.8.9.10", "http://localhost:9000", "http://[::1]:9000"],
)
def test_public_secrets_are_only_warnings_when_nothing_outside_can_reach_the_service(
    issuer: str,
) -> None:
    warnings = Settings(oidc_issuer=issuer).check_for_serving(LOOPBACK)
    assert [w.split(" ")[0] for w in warnings] == [
        "TICKETLAB_JWT_SECRET",
        "TICKETLAB_PSP_WEBHOOK_SECRET",
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_bind_hosts_are_not_an_exposure(host: str) -> None:
    assert Settings().check_for_serving(host)  # warnings, not a refusal


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "tickets.example.com", ""])
def test_a_bind_host_outside_loopback_refuses_the_public_jwt_secret(host: str) -> None:
    settings = Settings(psp_webhook_secret="w" * 40)
    with pytest.raises(ConfigError, match=r"TICKETLAB_JWT_SECRET is public .*--host") as refused:
        settings.check_for_serving(host)
    assert "TICKETLAB_PSP_WEBHOOK_SECRET" not in str(refused.value)


def test_a_public_url_outside_loopback_refuses_the_public_jwt_secret() -> None:
    settings = Settings(public_url="https://tickets.example.com", psp_webhook_secret="w" * 40)
    with pytest.raises(ConfigError, match=r"TICKETLAB_JWT_SECRET.*TICKETLAB_PUBLIC_URL="):
        settings.check_for_serving(LOOPBACK)


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
def test_an_issuer_outside_loopback_refuses_the_public_jwt_secret(issuer: str) -> None:
    settings = Settings(oidc_issuer=issuer, psp_webhook_secret="w" * 40)
    with pytest.raises(ConfigError, match=r"TICKETLAB_JWT_SECRET.*TICKETLAB_OIDC_ISSUER="):
        settings.check_for_serving(LOOPBACK)


@pytest.mark.parametrize(
    "exposure",
    [
        {"host": "0.0.0.0"},
        {"public_url": "https://tickets.example.com"},
        {"oidc_issuer": "https://accounts.google.com"},
    ],
)
def test_every_exposure_refuses_the_providers_public_test_key_for_webhooks(
    exposure: dict[str, str],
) -> None:
    where = dict(exposure)
    host = where.pop("host", LOOPBACK)
    settings = Settings(jwt_secret="s" * 40, **where)
    with pytest.raises(ConfigError) as refused:
        settings.check_for_serving(host)
    message = str(refused.value)
    assert message.startswith(
        "TICKETLAB_PSP_WEBHOOK_SECRET (unset, so TICKETLAB_PSP_SECRET_KEY) is public"
    )
    assert "forge payment webhooks" in message and "TICKETLAB_JWT_SECRET" not in message


def test_a_webhook_secret_set_to_the_public_test_key_is_refused_too() -> None:
    settings = Settings(jwt_secret="s" * 40, psp_webhook_secret=PUBLIC_PSP_TEST_KEY)
    with pytest.raises(ConfigError, match=r"^TICKETLAB_PSP_WEBHOOK_SECRET is public"):
        settings.check_for_serving("0.0.0.0")


def test_both_public_secrets_are_named_in_one_refusal() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings().check_for_serving("0.0.0.0")
    assert "set TICKETLAB_JWT_SECRET and TICKETLAB_PSP_WEBHOOK_SECRET" in str(refused.value)


@pytest.mark.parametrize("host", [LOOPBACK, "0.0.0.0"])
def test_secrets_of_ones_own_need_no_warning_anywhere(host: str) -> None:
    real = Settings(oidc_issuer="https://accounts.google.com", **OWN_SECRETS)
    assert real.check_for_serving(host) == []


def test_the_dev_secret_is_checked_only_when_serving() -> None:
    # migrate and seed never touch tokens, so building the settings alone never refuses.
    assert Settings.from_env({"TICKETLAB_OIDC_ISSUER": "https://accounts.google.com"})


SECRETS = {
    "jwt_secret": "jwt-3f9a7c",
    "oidc_client_secret": "oidc-8e1b2d",
    "psp_secret_key": "psp-c47e90",
    "psp_webhook_secret": "hook-5d2a61",
}


def test_the_public_view_masks_every_secret() -> None:
    public = Settings(**SECRETS).public()
    assert not [value for value in public.values() if any(s in value for s in SECRETS.values())]
    assert public["TICKETLAB_JWT_SECRET"] == "***"
    assert public["TICKETLAB_PSP_WEBHOOK_SECRET"] == "***"


def test_the_public_view_shows_which_secrets_were_left_unset() -> None:
    assert Settings(psp_webhook_secret="").public()["TICKETLAB_PSP_WEBHOOK_SECRET"] == ""


@pytest.mark.parametrize(
    ("field", "url", "shown"),
    [
        ("db_url", "mysql://app:s3cret@db:3306/tl", "mysql://app:***@db:3306/tl"),
        ("replica_url", "mysql://app:s3cret@r:3306/tl", "mysql://app:***@r:3306/tl"),
        ("db_admin_url", "mysql://root:s3cret@db/tl", "mysql://root:***@db/tl"),
        ("redis_url", "redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("amqp_url", "amqp://guest:s3cret@mq:5672/v", "amqp://guest:***@mq:5672/v"),
        ("redis_url", "redis://:s3@cr@et@cache:6379/0", "redis://:***@cache:6379/0"),
    ],
)
def test_the_public_view_keeps_urls_without_their_passwords(
    field: str, url: str, shown: str
) -> None:
    assert Settings(**{field: url}).public()["TICKETLAB_" + field.upper()] == shown


def test_the_public_view_keeps_everything_else_as_the_environment_would_give_it() -> None:
    public = Settings(defects=frozenset({"pool-leak", "fd-leak"}), hold_ttl_s=4).public()
    assert public["TICKETLAB_DEFECTS"] == "fd-leak,pool-leak"
    assert public["TICKETLAB_HOLD_TTL_S"] == "4"
    assert public["TICKETLAB_DB_ADMIN_URL"] == "mysql://root@127.0.0.1:3306/ticketlab"
    assert set(public) == {name for name, _ in Settings.documented()}

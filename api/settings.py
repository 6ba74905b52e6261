"""Service settings, read once from the environment (prefix ``HUIQI_``)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="HUIQI_", extra="ignore")

    database_url: str = "sqlite:///var/huiqi.db"
    data_dir: str = "var"
    debug: bool = False
    # Signs receipt tokens; when empty a random key is created once in ``data_dir/secret_key``.
    secret_key: str = ""
    # The largest request body outside file uploads (bytes); larger ones are refused with 413 unread.
    max_body_bytes: int = 2 * 1024 * 1024
    # Days a staff bearer token stays valid after it is issued; 0: tokens never expire.
    staff_token_days: int = Field(default=90, ge=0, le=3650)
    # The sentence encoder (features.encoder): off ranks by sparse scores alone, with a notice.
    encoder: bool = True


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear the cache)."""
    return Settings()

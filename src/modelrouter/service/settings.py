"""Every setting of the service, in one place.

Read by pydantic-settings from, in order of precedence: the keyword
arguments (``modelrouter serve`` options), ``MODELROUTER_*`` environment
variables, and an optional TOML file (``MODELROUTER_CONFIG``, else
``modelrouter.toml`` in the working directory) whose keys are the field names.
Bad values are refused with the variable named, before anything starts.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["CONFIG_FILE", "Settings"]

CONFIG_FILE = "modelrouter.toml"


def _config_file() -> Path:
    return Path(os.environ.get("MODELROUTER_CONFIG", CONFIG_FILE))


class Settings(BaseSettings):
    """The service's configuration (README, Configuration, lists each)."""

    model_config = SettingsConfigDict(
        env_prefix="MODELROUTER_", extra="forbid", validate_default=True
    )

    database_url: str = Field(
        default="", description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )
    data_dir: Path = Field(default=Path("data"), description="journal, local keys, events")
    # Catalog files layered over the bundled catalog at start-up (comma-separated
    # in the environment), and a platform policy file.
    catalog: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    platform_policy: Path | None = None
    nats_url: str = ""
    redis_url: str = ""
    redis_prefix: str = Field(default="modelrouter", min_length=1, max_length=100)
    budget_ledger: Literal["sql", "redis"] = "sql"
    signals_refresh_ms: int = Field(default=100, ge=10, le=10_000)
    signals_stale_after_ms: int = Field(default=1000, ge=100, le=600_000)
    config_poll_ms: int = Field(default=250, ge=50, le=10_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=256 * 1_048_576)
    max_request_seconds: float = Field(default=900.0, gt=0, le=86_400)
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # Requests in flight per worker beyond which it answers 503 overloaded
    # (service/admission.py says why 256); 0 turns admission control off.
    max_in_flight: int = Field(default=256, ge=0, le=1_000_000)
    # The C library's malloc arenas per worker (service/allocator.py says why
    # 2); 0 leaves its default.
    malloc_arenas: int = Field(default=2, ge=0, le=64)
    # Live price refresh: off unless a source is named.
    price_refresh_source: str = ""
    price_refresh_format: Literal["yaml", "litellm"] = "yaml"
    price_refresh_interval_seconds: int = Field(default=3600, ge=10, le=7 * 86_400)
    price_refresh_max_factor: Decimal = Field(default=Decimal(5), gt=1, le=1000)

    @field_validator("catalog", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("catalog")
    @classmethod
    def _readable(cls, value: list[Path]) -> list[Path]:
        for path in value:
            if not path.is_file():
                raise ValueError(f"catalog file {path} does not exist")
        return value

    @field_validator("platform_policy")
    @classmethod
    def _policy_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"platform policy file {value} does not exist")
        return value

    @field_validator("budget_ledger", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    def environment(self) -> dict[str, str]:
        """These settings as ``MODELROUTER_*`` variables: what ``serve`` hands
        its worker processes, which read them back."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(exclude_defaults=True).items():
            if name == "catalog":
                text = ",".join(str(p.resolve()) for p in value)
            elif isinstance(value, Path):
                text = str(value.resolve())
            else:
                text = str(value)
            out[f"MODELROUTER_{name.upper()}"] = text
        return out

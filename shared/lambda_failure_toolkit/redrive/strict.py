"""The base of every model a redrive request is read into."""

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict"]


class Strict(BaseModel):
    """Frozen, no unknown field (a misspelt option is refused by name), whitespace around strings
    stripped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

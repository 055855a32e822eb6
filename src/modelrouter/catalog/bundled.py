"""The bundled catalog, and the one place in the core that reads a file.

The core opens no files: parsers take values the caller has read. The
bundled catalog is the exception every library user needs with no set-up,
so it is read here and only here (the architecture test allows this module,
by path, to read package data): the curated overlay ``data/curated.yaml``
through ``importlib.resources`` (so it works from a wheel or a zip), and the
genai-prices data that package ships as Python (no file, no network).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.genai import genai_layer, genai_version
from modelrouter.errors import CatalogError

__all__ = ["CURATED", "bundled_catalog"]

CURATED = "data/curated.yaml"


def _curated() -> dict[str, Any]:
    text = resources.files("modelrouter.catalog").joinpath(CURATED).read_text("utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise CatalogError("the curated overlay is not a mapping", source="curated.yaml")
    return loaded


@cache
def bundled_catalog() -> Catalog:
    """genai-prices' offline data, under the curated overlay; built once per process."""
    curated = _curated()
    claimed = [
        (deployment["genai"]["provider"], deployment["genai"]["model"])
        for model in curated.get("models", {}).values()
        for deployment in model.get("deployments", {}).values()
        if "genai" in deployment
    ]
    generated = genai_layer(claimed)
    # A generated model id that a curated alias uses as its name yields to the alias.
    for alias in curated.get("aliases", {}):
        generated["models"].pop(alias, None)
    return Catalog.from_layers(
        [(f"genai-prices {genai_version()}", generated), ("curated overlay", curated)]
    )

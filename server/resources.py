"""Where Entente's sources live: the checkout's top-level folders (seeds/, data/, ontology/, shapes/,
docs/competency/), or, once installed from a wheel, the copies shipped in `server/_sources/`
(pyproject.toml maps each folder into the package), so `entente` works from any folder."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "seeds").is_dir()


def _folder(name: str, in_checkout: str) -> Path:
    return CHECKOUT / in_checkout if IN_CHECKOUT else PACKAGE / "_sources" / name


SEEDS = _folder("seeds", "seeds")
DATA = _folder("data", "data")
ONTOLOGY = _folder("ontology", "ontology")
SHAPES = _folder("shapes", "shapes")
COMPETENCY = _folder("competency", "docs/competency")
DOCS = _folder("docs", "docs")


def sources() -> list[Path]:
    """Every source file the build reads, in a fixed order (for the digest that says a build is stale)."""
    return sorted(p for d in (SEEDS, DATA, ONTOLOGY, SHAPES) if d.is_dir()
                  for p in d.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))

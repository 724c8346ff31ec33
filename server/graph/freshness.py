"""Whether a built dataset is current: the digest of the sources, the pipeline's code and the build's
options, recorded beside the dataset. Apart from build.py so that `entente serve` can ask without
importing the pipeline (rdflib, pySHACL): its gunicorn workers are forked from that process and would
each carry those libraries (issue 11: memory per worker)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import resources

DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"


def sources_digest(full_text: bool = True, license: str = DEFAULT_LICENSE) -> str:
    """SHA-256 over the sources, the pipeline's code and the build's options (full text, licence): a
    built dataset is stale when this changes."""
    digest = hashlib.sha256(f"full_text={full_text}\0license={license}\0".encode())
    code = sorted(Path(__file__).resolve().parent.glob("*.py"))
    for path in resources.sources() + code:
        digest.update(f"{path.name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def digest_path(out: Path) -> Path:
    """The file beside a built dataset that records the digest of the sources it was built from."""
    return out.with_name(out.name + ".sources")


def is_current(out: Path, full_text: bool = True, license: str = DEFAULT_LICENSE) -> bool:
    """True when `out` exists and was built from the sources as they are now. A dataset without the
    record (one the user made some other way) counts as current: `entente serve` never overwrites it."""
    if not out.exists():
        return False
    record = digest_path(out)
    return not record.exists() or record.read_text().strip() == sources_digest(full_text, license)

"""Nanopublications: every claim as a nanopublication (head, assertion, provenance, publication info).

- assertion: the claim's triples, as the claim graph holds them;
- provenance: who asserts it (`prov:wasAttributedTo`), how (`ent:modality`), every other qualifier of the
  claim record (polarity, certainty, time reference, speech act, …), the evidence spans with their quote
  and code-point offsets in the article, the article itself (its address and date where known), and the
  claim it comes from (`prov:wasDerivedFrom`);
- publication info: creator (the Entente dataset), date, licence, release (package version, dataset).

Unsigned, a nanopublication is named under Entente's base (`…/nanopub/<claim>`). With a private key
and the signer's ORCID (settings `nanopub_key_file`, an RSA key in PEM, and `nanopub_orcid`), it is signed and given a trusty URI
(`https://w3id.org/np/RA…`) by `nanopub-sign`, the Python binding of the nanopub community's Rust
toolkit (the same library checks them in the tests). RSA PKCS#1 v1.5 signatures are deterministic:
the same claim, date and key give the same nanopublication.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pyoxigraph as ox

from ..graph import iris
from .dataset import Claim, Data, claim_text

NP = "http://www.nanopub.org/nschema#"
NPX = "http://purl.org/nanopub/x/"
PROV = iris.PREFIXES["prov"]
DCTERMS = iris.PREFIXES["dcterms"]
RDF_TYPE = iris.PREFIXES["rdf"] + "type"
RDFS_LABEL = iris.PREFIXES["rdfs"] + "label"
XSD = iris.PREFIXES["xsd"]
NIF = iris.PREFIXES["nif"]
SCHEMA = iris.PREFIXES["schema"]
OWL = iris.PREFIXES["owl"]
PROFILE = "http://www.nanopub.org/nschema"      # the profile named in Accept-Profile / Content-Profile
NANOPUB_BASE = iris.BASE + "nanopub/"
TEMP_BASE = "http://purl.org/nanopub/temp/entente/"   # what nanopub-sign replaces with the trusty URI
PREFIXES = {"this": None, "sub": None, "np": NP, "npx": NPX, "prov": PROV, "dcterms": DCTERMS,
            "rdfs": iris.PREFIXES["rdfs"], "xsd": XSD, "nif": NIF, "schema": SCHEMA, "ent": iris.ENT,
            "id": iris.ID, "claim": iris.CLAIM, "span": iris.SPAN, "owl": OWL}


class SigningError(RuntimeError):
    """The key could not be read or nanopub-sign refused the nanopublication."""


def release() -> str:
    try:
        return metadata.version("entente")
    except metadata.PackageNotFoundError:
        return "unknown"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def quads(data: Data, claim: Claim, created: str, license: str, base: str = NANOPUB_BASE,
          creator: str = iris.DATASET) -> list[ox.Quad]:
    """The nanopublication of `claim` as quads; `created` is an xsd:dateTime lexical form."""
    this = base + claim.local.replace("/", "-").replace("#", "-")
    sub = this + "#"
    head, assertion, provenance, pubinfo = (_n(sub + g) for g in ("Head", "assertion", "provenance", "pubinfo"))
    out: list[ox.Quad] = []

    def add(s, p: str, o, g) -> None:
        s = _n(s) if isinstance(s, str) else s
        o = _n(o) if isinstance(o, str) else o
        out.append(ox.Quad(s, _n(p), o, g))

    add(this, RDF_TYPE, NP + "Nanopublication", head)
    add(this, NP + "hasAssertion", assertion, head)
    add(this, NP + "hasProvenance", provenance, head)
    add(this, NP + "hasPublicationInfo", pubinfo, head)

    for s, p, o in claim.triples:
        out.append(ox.Quad(s, p, o, assertion))

    add(assertion, PROV + "wasDerivedFrom", claim.iri, provenance)
    if claim.asserter:
        add(assertion, PROV + "wasAttributedTo", claim.asserter, provenance)
    if claim.modality:
        add(assertion, iris.ENT + "modality", claim.modality, provenance)
    if claim.reported_in:
        add(assertion, iris.ENT + "reportedIn", claim.reported_in, provenance)
    for p, o in claim.qualifiers:
        if p not in (RDF_TYPE,):
            out.append(ox.Quad(assertion, _n(p), o, provenance))
    for span in claim.spans:
        add(assertion, iris.ENT + "evidence", span.iri, provenance)
        add(span.iri, NIF + "anchorOf", ox.Literal(span.quote), provenance)
        add(span.iri, NIF + "beginIndex", ox.Literal(str(span.begin), datatype=_n(XSD + "nonNegativeInteger")),
            provenance)
        add(span.iri, NIF + "endIndex", ox.Literal(str(span.end), datatype=_n(XSD + "nonNegativeInteger")),
            provenance)
        add(span.iri, NIF + "referenceContext", data.article.iri, provenance)
    article = data.article
    add(assertion, PROV + "wasDerivedFrom", article.iri, provenance)
    if article.title:
        add(article.iri, DCTERMS + "title", ox.Literal(article.title, language="en"), provenance)
    if article.address:
        add(article.iri, SCHEMA + "url", article.address, provenance)
        add(assertion, PROV + "wasQuotedFrom", article.address, provenance)
    if article.published:
        add(article.iri, DCTERMS + "issued", ox.Literal(article.published, datatype=_n(XSD + "date")), provenance)
    if article.publisher:
        add(article.iri, DCTERMS + "publisher", article.publisher, provenance)

    add(this, DCTERMS + "creator", creator, pubinfo)
    add(this, DCTERMS + "created", ox.Literal(created, datatype=_n(XSD + "dateTime")), pubinfo)
    add(this, DCTERMS + "license", license, pubinfo)
    add(this, DCTERMS + "isPartOf", iris.DATASET, pubinfo)
    add(this, OWL + "versionInfo", ox.Literal(release()), pubinfo)
    add(this, RDFS_LABEL, ox.Literal(claim_text(data, claim), language="en"), pubinfo)
    return out


def trig(quads_: list[ox.Quad], this: str | None = None) -> str:
    prefixes = {k: v for k, v in PREFIXES.items() if v}
    if this:
        prefixes["this"], prefixes["sub"] = this, this + "#"
    return ox.serialize(quads_, format=ox.RdfFormat.TRIG, prefixes=prefixes).decode("utf-8")


@dataclass(frozen=True)
class Signer:
    """A private key (PEM, or its base64 body) and the ORCID of the person who signs with it;
    nanopub-sign requires an ORCID in the signer's profile."""
    key: str = field(repr=False)          # a secret: never in a repr, a log or a page
    orcid: str = ""


def nanopub(data: Data, claim: Claim, created: str, license: str, signer: Signer | None = None) -> str:
    """One claim's nanopublication as TriG: signed with a trusty URI when a `signer` is given."""
    if signer is None:
        this = NANOPUB_BASE + _local(claim)
        return trig(quads(data, claim, created, license), this)
    temp = TEMP_BASE + _local(claim)
    text = trig(quads(data, claim, created, license, base=TEMP_BASE, creator=signer.orcid), temp)
    return sign(text, signer)


def _local(claim: Claim) -> str:
    return claim.local.replace("/", "-").replace("#", "-")


_profiles: dict[Signer, object] = {}
_lock = threading.Lock()


def sign(text: str, signer: Signer) -> str:
    import nanopub_sign

    with _lock:
        profile = _profiles.get(signer)
        if profile is None:
            try:
                profile = nanopub_sign.NpProfile(private_key=_key_body(signer.key), orcid_id=signer.orcid,
                                                 name="Entente", introduction_nanopub_uri=None)
            except Exception as e:     # the binding raises plain Exceptions; never echo the key
                raise SigningError("The nanopub signing key or ORCID is not usable: "
                                   f"{str(e).splitlines()[0][:160]}") from None
            _profiles.clear()
            _profiles[signer] = profile
    try:
        return nanopub_sign.Nanopub(text).sign(profile).rdf()
    except Exception as e:
        raise SigningError(f"nanopub-sign refused the nanopublication: {str(e)[:300]}") from None


def _key_body(pem: str) -> str:
    """nanopub-sign takes the base64 body of the key, without the PEM armour."""
    lines = [line.strip() for line in pem.strip().splitlines()]
    return "".join(line for line in lines if line and not line.startswith("-----"))


def all_nanopubs(data: Data, created: str, license: str, signer: Signer | None = None) -> str:
    """Every claim's nanopublication in one TriG document (claims in IRI order)."""
    parts = []
    for claim in sorted(data.claims.values(), key=lambda c: c.iri):
        if claim.triples:
            parts.append(nanopub(data, claim, created, license, signer))
    return "\n".join(parts)


def signer_from(settings) -> Signer | None:
    """The signer the settings name (key file + ORCID), None when no key is set."""
    if not settings.nanopub_key_file:
        return None
    if not settings.nanopub_orcid.startswith("https://orcid.org/"):
        raise SigningError("nanopub_key_file is set but nanopub_orcid is not an ORCID (https://orcid.org/…): "
                           "nanopub-sign needs one to sign.")
    try:
        key = Path(settings.nanopub_key_file).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise SigningError(f"Cannot read nanopub_key_file {settings.nanopub_key_file}: {e.__class__.__name__}") from None
    return Signer(key, settings.nanopub_orcid)


def find(data: Data, claim_iri: str) -> Claim | None:
    claim = data.claims.get(claim_iri)
    return claim if claim is not None and claim.triples else None

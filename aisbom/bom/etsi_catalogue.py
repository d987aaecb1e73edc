"""ETSI EN 304 223 V2.1.1, principles 5, 7 and 8: the standard and its requirements, as data.

Requirement texts are shortened quotations of the standard (or, where marked, summaries); the
normative text is the standard's. What a BOM evidences of each is decided in `etsi`.

Every provision of the three principles is listed, with its parent as the standard numbers it: a
sub-provision `N.M` is a child of provision `N` (5.2.1-3.1 of 5.2.1-3), a provision a child of its
clause. Two provisions are known only from that numbering: 5.2.1-3 (the parent of 5.2.1-3.1) and
5.2.1-4.1 (the sibling before 5.2.1-4.2). Their texts and modal verbs are not in aisbom's reference
copy of the standard, so they are listed with neither, never guessed (docs/bom.md says why); no
provision that nothing implies (a 5.2.3-2.2, say) is listed.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_NAME = "ETSI EN 304 223"
STANDARD_VERSION = "2.1.1"
STANDARD_OWNER = "ETSI"
STANDARD_DESCRIPTION = (
    "Baseline cyber security requirements for AI models and systems. This BOM covers principles "
    "5, 7 and 8 (development phase); requirement texts are shortened, the standard is normative."
)


MODAL_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Requirement:
    """One principle or provision of the standard."""

    id: str  # the EN identifier, e.g. 5.2.4-1.2; a clause id (5.2.1) for a principle
    text: str
    modal: str = ""  # shall | should | unknown (not in aisbom's reference); empty for a principle
    parent: str | None = None
    quoted: bool = True  # False: the text is a summary, not a quotation
    how: str = ""  # how aisbom evidences it

    @property
    def is_provision(self) -> bool:
        """A numbered provision (5.2.1-3.1), as opposed to the clause of a principle (5.2.1)."""
        return "-" in self.id


CATALOGUE: tuple[Requirement, ...] = (
    Requirement("5.2.1", "Principle 5: Identify, track and protect the assets."),
    Requirement(
        "5.2.1-1",
        "Maintain a comprehensive inventory of their assets (including their "
        "interdependencies/connectivity).",
        "shall",
        "5.2.1",
        how="Every model, dataset and file is a component; dependencies link models to files and "
        "datasets; compositions say whether the inventory is complete.",
    ),
    Requirement(
        "5.2.1-2",
        "Processes and tools to track, authenticate, manage version control and secure their assets.",
        "shall",
        "5.2.1",
        how="SHA-256 of every file, revisions as versions, `aisbom sign` and `aisbom verify`.",
    ),
    Requirement(
        "5.2.1-3",
        "Provision 5.2.1-3, which 5.2.1-3.1 refines. Its text and modal verb are not in aisbom's "
        "reference copy of the standard: see the standard.",
        MODAL_UNKNOWN,
        "5.2.1",
        quoted=False,
        how="Nothing: aisbom does not know what it requires, and claims nothing of it.",
    ),
    Requirement(
        "5.2.1-3.1",
        "Ensure that a known good state can be restored.",
        "should",
        "5.2.1-3",
        how="A signed BOM is the known-good reference; `aisbom verify` names every file that differs.",
    ),
    Requirement(
        "5.2.1-4",
        "Protect sensitive training and test data and confidential model weights.",
        "shall",
        "5.2.1",
        quoted=False,
        how="Recorded only: data classification and governance, when supplied.",
    ),
    Requirement(
        "5.2.1-4.1",
        "Provision 5.2.1-4.1, between 5.2.1-4 and 5.2.1-4.2. Its text and modal verb are not in "
        "aisbom's reference copy of the standard: see the standard.",
        MODAL_UNKNOWN,
        "5.2.1-4",
        quoted=False,
        how="Nothing: aisbom does not know what it requires, and claims nothing of it.",
    ),
    Requirement(
        "5.2.1-4.2",
        "Protect sensitive training and test data and confidential model weights (see 5.2.1-4).",
        "shall",
        "5.2.1-4",
        quoted=False,
        how="Recorded only: data classification and governance, when supplied.",
    ),
    Requirement("5.2.3", "Principle 7: Secure the supply chain."),
    Requirement(
        "5.2.3-1",
        "Follow secure software supply chain processes for their AI model and system development.",
        "shall",
        "5.2.3",
        how="Scan before load, hashes, signatures, provenance of every artifact.",
    ),
    Requirement(
        "5.2.3-2",
        "System operators using components which are not well-documented or secured shall be able to "
        "justify their decision ... through documentation.",
        "shall",
        "5.2.3",
        how="Such components are flagged (no model card, licence, source URL, upstream hash or "
        "signature; unsafe serialization; findings) and the operator's justification is recorded.",
    ),
    Requirement(
        "5.2.3-2.1",
        "Mitigating controls and a risk assessment for such components.",
        "shall",
        "5.2.3-2",
        quoted=False,
        how="Recorded only, when supplied.",
    ),
    Requirement(
        "5.2.3-3",
        "Re-run evaluations on released models that they intend on using.",
        "shall",
        "5.2.3",
        how="Recorded only: evaluation results and when they ran, when supplied.",
    ),
    Requirement(
        "5.2.3-4",
        "Tell end-users before models are updated.",
        "shall",
        "5.2.3",
        quoted=False,
        how="`aisbom diff` between two BOMs produces the change list.",
    ),
    Requirement("5.2.4", "Principle 8: Document data, models and prompts."),
    Requirement(
        "5.2.4-1",
        "Document and maintain a clear audit trail of their system design and post-deployment "
        "maintenance plans.",
        "shall",
        "5.2.4",
        how="A versioned history of BOMs.",
    ),
    Requirement(
        "5.2.4-1.1",
        "Documentation includes sources of training data ..., intended scope and limitations, "
        "guardrails, retention time, suggested review frequency and potential failure modes.",
        "should",
        "5.2.4-1",
        how="The model card, imported from the model's README and config.",
    ),
    Requirement(
        "5.2.4-1.2",
        "Release cryptographic hashes for model components that are made available to other stakeholders.",
        "shall",
        "5.2.4-1",
        how="SHA-256 of every file, also on its distribution reference.",
    ),
    Requirement(
        "5.2.4-2",
        "For public training data, document how they obtained the public training data, where it came "
        "from and how that data is used in the model.",
        "shall",
        "5.2.4",
        how="Dataset components linked to the model, with their source URL.",
    ),
    Requirement(
        "5.2.4-2.1",
        "At a minimum the source of the data, such as the URL of the scraped page, and the date/time the "
        "data was obtained.",
        "should",
        "5.2.4-2",
        how="Source URL and acquisition time (UTC) on every ingested artifact.",
    ),
    Requirement(
        "5.2.4-3",
        "An audit log of changes to system prompts or other model configuration.",
        "should",
        "5.2.4",
        how="Configuration files are hashed components; every change yields a new BOM and a diff.",
    ),
)


def requirement_ref(req_id: str) -> str:
    return f"en-304-223:{req_id}"

"""The evidence hash chain: canonical form of an item, its hash, and verification.

``item_hash = sha256(canonical_json(item fields + prev_hash))``. The canonical JSON sorts
keys, uses no whitespace and keeps non-ASCII characters as UTF-8; ``created_at`` is an ISO
8601 UTC timestamp with microseconds. The first item of a dispute links to GENESIS_HASH.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from django.utils.translation import gettext as _

from disputes.models import GENESIS_HASH, EvidenceItem

HASHED_FIELDS = (
    "dispute",
    "seq",
    "kind",
    "submitted_by",
    "created_at",
    "text",
    "references",
    "snapshot",
    "file_name",
    "file_sha256",
    "file_size",
    "file_content_type",
    "prev_hash",
)


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _timestamp(dt) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_item(item: EvidenceItem) -> dict:
    return {
        "dispute": item.dispute_id,
        "seq": item.seq,
        "kind": item.kind,
        "submitted_by": item.submitted_by_id,
        "created_at": _timestamp(item.created_at),
        "text": item.text,
        "references": item.references or {},
        "snapshot": item.snapshot or {},
        "file_name": item.file_name,
        "file_sha256": item.file_sha256,
        "file_size": item.file_size,
        "file_content_type": item.file_content_type,
        "prev_hash": item.prev_hash,
    }


def compute_hash(item: EvidenceItem) -> str:
    return hashlib.sha256(canonical_json(canonical_item(item))).hexdigest()


def verify_chain(dispute, *, check_files: bool = True) -> tuple[bool, int | None, str]:
    """Recomputes every item's hash from the stored rows and checks the links, the sequence
    and (with ``check_files``) that each stored file still has its recorded sha256.

    The chain must also end at the head stored on the dispute (its item count and last
    hash), so items removed from its end are found too.

    Returns ``(ok, first_bad_seq, message)``.
    """
    from disputes.files import stored_file_sha256

    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for item in EvidenceItem.objects.filter(dispute_id=dispute.pk).order_by("seq"):
        count += 1
        if item.seq != expected_seq:
            return False, expected_seq, _("Item %(seq)s is missing from the chain.") % {"seq": expected_seq}
        if item.prev_hash != prev:
            return False, item.seq, _("Item %(seq)s does not link to the item before it.") % {"seq": item.seq}
        if compute_hash(item) != item.item_hash:
            return False, item.seq, _("Item %(seq)s was altered after it was recorded.") % {"seq": item.seq}
        if check_files and item.file_path:
            actual = stored_file_sha256(item)
            if actual is None:
                return False, item.seq, _("The file of item %(seq)s is missing.") % {"seq": item.seq}
            if actual != item.file_sha256:
                return False, item.seq, _("The file of item %(seq)s was altered.") % {"seq": item.seq}
        prev = item.item_hash
        expected_seq += 1
    # The head stored on the dispute, read afresh (a caller's instance may predate items
    # appended through another): the chain must end where it last ended.
    head = type(dispute).objects.filter(pk=dispute.pk).values_list("evidence_count", "evidence_head").first()
    if head is not None and head[1] and (count, prev) != head:
        return False, count + 1, _("Item %(seq)s is missing from the chain.") % {"seq": count + 1}
    if count == 0:
        return False, None, _("This dispute has no evidence.")
    return True, None, _("The chain of %(count)s items verifies.") % {"count": count}

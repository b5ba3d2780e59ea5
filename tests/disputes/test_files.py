from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disputes.files import MAX_FILE_BYTES, InvalidFile, check_upload
from disputes.models import Dispute, EvidenceItem
from disputes.services import dispute_add_evidence, dispute_open
from tests.disputes.helpers import JPEG, PDF, PNG

pytestmark = pytest.mark.django_db


class RawUpload:
    """An upload whose name was not cleaned by Django (as a non-HTTP caller could pass)."""

    def __init__(self, name, data):
        self.name, self._data = name, data

    def chunks(self):
        yield self._data


def _up(name, data, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("shot.png", PNG, "image/png"),
        ("photo.JPG", JPEG, "image/jpeg"),
        ("letter.pdf", PDF, "application/pdf"),
        ("bounce.txt", "Mailer-daemon: 550 user unknown — 用户不存在\n".encode(), "text/plain"),
        ("leads.csv", b"email,reason\na@b.example,bounced\n", "text/csv"),
    ],
)
def test_allowed_types_are_accepted_by_their_content(name, data, mime):
    checked = check_upload(_up(name, data, content_type="image/gif"))  # the client's claimed type is ignored
    assert checked.content_type == mime
    assert checked.size == len(data)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.png", b"", "empty"),
        ("shot.pdf", PNG, "does not match"),  # PNG bytes named .pdf
        ("page.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "markup"),
        ("notes.png", b"just some text", "does not match"),  # text named .png
        ("page.txt", b"<html><body><script>alert(1)</script></body></html>", "markup"),
        ("image.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "not accepted"),
        ("archive.png", b"PK\x03\x04" + b"\x00" * 40, "not accepted"),
        ("binary.txt", b"abc\x00def", "not accepted"),
        ("latin1.txt", "café".encode("latin-1"), "not accepted"),
        ("polyglot.png", PNG + b"PK\x03\x04payload", "extra content"),
        ("noextension", b"hello", "extension"),
        ("script.exe", b"MZ\x90\x00" + b"\x00" * 60, "not accepted"),
    ],
)
def test_bad_files_are_refused(name, data, message):
    with pytest.raises(InvalidFile, match=message):
        check_upload(_up(name, data))


def test_oversize_is_refused():
    with pytest.raises(InvalidFile, match="larger than 5 MB"):
        check_upload(_up("big.txt", b"a" * (MAX_FILE_BYTES + 1)))


@pytest.mark.parametrize("name", ["../../etc/passwd.png", "..\\..\\boot.png", "a/b.png", ".hidden.png"])
def test_names_with_path_components_are_refused(name):
    with pytest.raises(InvalidFile, match="path"):
        check_upload(RawUpload(name, PNG))


def _stored_files():
    return sorted(p for p in (Path(settings.PRIVATE_ROOT) / "evidence").glob("**/*") if p.is_file())


def test_a_refused_file_stores_nothing(client_user, order, leads):
    before = _stored_files()
    with pytest.raises(InvalidFile):
        dispute_open(
            user=client_user,
            order=order,
            items=[{"lead": leads[0], "reason": "invalid_email"}],
            statement="see file",
            files=[_up("ok.png", PNG), _up("bad.pdf", PNG)],
        )
    assert not Dispute.objects.exists()
    assert _stored_files() == before


def test_files_are_stored_privately_under_a_server_name(client_user, order, leads):
    dispute = dispute_open(
        user=client_user,
        order=order,
        items=[{"lead": leads[0], "reason": "invalid_email"}],
        statement="see file",
        files=[_up("My bounce (1).png", PNG)],
    )
    item = dispute.evidence.get(kind="client_file")
    path = Path(settings.PRIVATE_ROOT) / item.file_path
    assert path.read_bytes() == PNG
    assert path.parent == Path(settings.PRIVATE_ROOT) / "evidence" / str(dispute.pk)
    assert "bounce" not in path.name and len(path.name) == 32
    assert item.file_name == "My_bounce_1.png"
    assert item.file_size == len(PNG) and item.file_content_type == "image/png" and len(item.file_sha256) == 64
    assert not str(settings.PRIVATE_ROOT).startswith(str(settings.STATIC_ROOT))


def test_a_path_in_an_http_upload_never_reaches_the_disk(logged_in, client_user, order, leads):
    evil = SimpleUploadedFile("evil.png", PNG, content_type="image/png")
    evil.name = "../../../../tmp/evil.png"  # sent as is in the multipart body
    dispute = dispute_open(
        user=client_user, order=order, items=[{"lead": leads[0], "reason": "invalid_email"}], statement="x"
    )
    response = logged_in.post(reverse("disputes:evidence_add", args=[dispute.pk]), {"text": "", "file": evil})
    assert response.status_code == 302  # Django's parser keeps only the base name
    item = EvidenceItem.objects.get(dispute=dispute, kind="client_file")
    assert item.file_name == "evil.png"
    assert (
        (Path(settings.PRIVATE_ROOT) / item.file_path).resolve().is_relative_to(Path(settings.PRIVATE_ROOT).resolve())
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [("zero.png", b""), ("shot.pdf", PNG), ("page.png", b"<html><script>x</script></html>")],
)
def test_bad_evidence_uploads_get_a_clear_error_on_the_page(logged_in, client_user, order, leads, name, data):
    dispute = dispute_open(
        user=client_user, order=order, items=[{"lead": leads[0], "reason": "invalid_email"}], statement="x"
    )
    before = dispute.evidence.count()
    response = logged_in.post(
        reverse("disputes:evidence_add", args=[dispute.pk]), {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 400
    assert b"alert-error" in response.content
    assert dispute.evidence.count() == before


def test_oversize_upload_on_the_api_is_refused(api_client_for, client_user, order, leads):
    dispute = dispute_open(
        user=client_user, order=order, items=[{"lead": leads[0], "reason": "invalid_email"}], statement="x"
    )
    api = api_client_for(client_user)
    big = SimpleUploadedFile("big.txt", b"a" * (MAX_FILE_BYTES + 10), content_type="text/plain")
    response = api.post(f"/api/v1/disputes/{dispute.pk}/evidence/", {"file": big}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_file"


def test_client_can_add_text_and_file_evidence(client_user, order, leads):
    dispute = dispute_open(
        user=client_user, order=order, items=[{"lead": leads[0], "reason": "invalid_email"}], statement="x"
    )
    text_item = dispute_add_evidence(dispute=dispute, user=client_user, text="Another bounce today.")
    file_item = dispute_add_evidence(dispute=dispute, user=client_user, file=_up("b.csv", b"a,b\n1,2\n"))
    assert (text_item.kind, file_item.kind) == ("client_statement", "client_file")
    assert file_item.prev_hash == text_item.item_hash

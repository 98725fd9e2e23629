from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from madoguchi.inquiries.actions import NewInquiry, do_create_inquiry


@pytest.fixture
def categories(db):
    from madoguchi.demo import CATEGORIES
    from madoguchi.inquiries.models import Category

    for i, (slug, ja, en, extra, form_only, dja, den) in enumerate(CATEGORIES):
        Category.objects.create(
            slug=slug,
            name_ja=ja,
            name_en=en,
            extra_fields=extra,
            form_only=form_only,
            description_ja=dja,
            description_en=den,
            sort_order=i,
        )
    return {c.slug: c for c in Category.objects.all()}


def make_user(username: str, tier: str = "", superuser: bool = False):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user = User(
        username=username,
        tier=tier,
        is_superuser=superuser,
        is_staff=superuser,
        display_name=username,
    )
    user.set_password("correct horse battery")
    user.save()
    return user


@pytest.fixture
def student(db):
    return make_user("student1", "student")


@pytest.fixture
def student2(db):
    return make_user("student2", "student")


@pytest.fixture
def faculty(db):
    return make_user("faculty1", "faculty")


@pytest.fixture
def admin_user(db):
    return make_user("root", superuser=True)


@pytest.fixture
def plain_user(db):
    return make_user("someone")


def new_inquiry(**overrides) -> NewInquiry:
    data = dict(
        name="山田 太郎",
        email="taro@example.ac.jp",
        subject="Zoom に入れません",
        body="会議に参加できません。",
        lang="ja",
    )
    data.update(overrides)
    return NewInquiry(**data)


@pytest.fixture
def create():
    def _create(channel: str = "form", **overrides):
        inquiry, _ = do_create_inquiry(new_inquiry(**overrides), channel=channel)
        return inquiry

    return _create


def run_tasks() -> None:
    from madoguchi.core.worker import run_until_idle

    run_until_idle()


def make_key_pair(directory: Path, name: str) -> tuple[str, str]:
    """An RSA key and a self-signed certificate for it, as PEM files in ``directory``
    (SAML test IdPs and the desk's SP; no key is committed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


@pytest.fixture
def english(client, settings):
    """For tests that assert the pages' English texts: the browser asks for English (the
    language cookie, as the language switch sets it); the compiled catalog is Japanese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client

from __future__ import annotations

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

"""Demo content written for madoguchi: categories, staff of each tier, a few inquiries."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

CATEGORIES = [
    # slug, ja, en, extra fields, form only, description ja, description en
    (
        "zoom",
        "Zoomのトラブル",
        "Zoom trouble",
        ["zoom"],
        False,
        "サインインできない、会議に入れない、音声や画面共有の問題など",
        "Cannot sign in, cannot join, audio or screen-sharing problems",
    ),
    (
        "class-entry",
        "授業に入れない",
        "Cannot join an online class",
        ["class"],
        False,
        "オンライン授業のURLが見つからない、入室できない",
        "Cannot find the class URL or cannot get in",
    ),
    (
        "account",
        "アカウント・多要素認証",
        "Account and multi-factor authentication",
        [],
        False,
        "パスワード、多要素認証の設定や再登録",
        "Passwords, setting up or re-registering MFA",
    ),
    (
        "lms",
        "学習管理システム",
        "Learning management system",
        [],
        False,
        "課題の提出、授業資料の閲覧など",
        "Submitting assignments, viewing course material",
    ),
    (
        "mail-storage",
        "メール・クラウドストレージ",
        "Email and cloud storage",
        [],
        False,
        "大学のメール、ストレージの容量",
        "University email, storage quota",
    ),
    ("network", "ネットワーク・Wi-Fi", "Network and Wi-Fi", [], False, "", ""),
    (
        "exam",
        "試験に関すること",
        "Exams",
        [],
        True,
        "試験に関する問い合わせはメールフォームのみで受け付けます",
        "Exam-related inquiries are accepted through the email form only",
    ),
    ("other", "その他", "Other", [], False, "", ""),
]

STAFF = [
    # username, display name, tier, superuser
    ("student1", "学生スタッフ 一郎", "student", False),
    ("student2", "学生スタッフ 花子", "student", False),
    ("faculty1", "教職員 佐藤", "faculty", False),
    ("admin", "管理者", "", True),
]

INQUIRIES: list[dict[str, Any]] = [
    dict(
        name="山田 太郎",
        email="taro.yamada@example.ac.jp",
        category="zoom",
        lang="ja",
        subject="Zoomにサインインできません",
        body="大学のアカウントでZoomにサインインしようとすると「このアカウントは存在しません」と表示されます。"
        "FAQの手順は試しました。",
        details={"zoom_signin_email": "", "zoom_signin_unknown": True},
    ),
    dict(
        name="Emily Clark",
        email="emily.clark@example.ac.jp",
        category="account",
        lang="en",
        subject="Lost my phone, cannot pass MFA",
        body="I lost my phone and cannot complete multi-factor authentication. How can I re-register?",
    ),
    dict(
        name="鈴木 花子",
        email="hanako.suzuki@example.ac.jp",
        category="class-entry",
        lang="ja",
        subject="月曜2限の授業に入れません",
        body="授業のURLを開くと「ホストが参加させるまでお待ちください」のままです。",
        details={
            "class_date": "2026-11-30",
            "class_period": "2",
            "class_subject": "情報科学入門",
            "class_instructor": "田中",
        },
    ),
    dict(
        name="佐々木 健",
        email="ken.sasaki@example.ac.jp",
        category="lms",
        lang="ja",
        subject="課題が提出できない",
        body="提出ボタンを押すとエラーになります。エラー：413 Request Entity Too Large",
    ),
    dict(
        name="高橋 真理",
        email="mari.takahashi@example.ac.jp",
        category=None,
        lang="ja",
        sensitive=True,
        subject="成績の登録について",
        body="担当している授業の成績登録で、特定の学生の成績が反映されていません。",
        sensitive_part="学生の氏名と成績",
        sensitive_reason="学生スタッフが当事者である可能性があるため",
    ),
]


def _load_hours_and_policies() -> None:
    """The desk's hours (weekdays 8:25-18:30, Japanese holidays, Dec 29 - Jan 3 closed),
    the channels' schedules, and service levels after the vendor policy in the seeds."""
    from madoguchi.sla.models import BusinessSchedule, ChannelHours, SlaPolicy, SlaTarget
    from madoguchi.sla.schedules import builtin_definitions

    schedules = {}
    for name, (ja, en, definition) in builtin_definitions().items():
        schedules[name], _ = BusinessSchedule.objects.get_or_create(
            name=name, defaults={"label_ja": ja, "label_en": en, "definition": definition}
        )
    for channel, name in (
        ("bot", "always"),
        ("form", "always"),
        ("chat", "operators"),
        ("call", "operators"),
        ("faculty", "operators"),
    ):
        ChannelHours.objects.get_or_create(channel=channel, defaults={"schedule": schedules[name]})
    from madoguchi.sla.models import Entitlement

    Entitlement.objects.get_or_create(
        audience="other",
        defaults={
            "channels": ["form", "sensitive_form", "mail"],
            "note_ja": "チャットとオンライン通話は本学の構成員（学生・教職員）のみ利用できます。メールフォームをご利用ください。",
            "note_en": "Chat and online calls are for members of the university (students, faculty and staff). "
            "Please use the email form.",
        },
    )
    if SlaPolicy.objects.exists():
        return
    sensitive = SlaPolicy.objects.create(
        name="機微な内容（約1週間）",
        name_en="Sensitive (about a week)",
        order=10,
        schedule=schedules["operators"],
        lanes=["sensitive"],
    )
    week = 5 * (18 * 60 + 30 - (8 * 60 + 25))  # five business days of the operators' schedule
    for priority in (1, 2, 3, 4):
        SlaTarget.objects.create(
            policy=sensitive,
            priority=priority,
            first_response_minutes=week,
            resolution_minutes=2 * week,
        )
    day = 18 * 60 + 30 - (8 * 60 + 25)  # one business day of the operators' schedule
    standard = SlaPolicy.objects.create(
        name="標準", name_en="Standard", order=100, schedule=schedules["operators"]
    )
    for priority, first in ((1, 60), (2, 240), (3, day), (4, 2 * day)):
        SlaTarget.objects.create(
            policy=standard,
            priority=priority,
            first_response_minutes=first,
            next_response_minutes=first,
            resolution_minutes=first * 5,
        )
    # The vendor policy from the seeds, in calendar time (24/7); inactive, as an example.
    vendor = SlaPolicy.objects.create(
        name="ベンダー型24時間365日", name_en="Vendor-style 24/7", order=200, active=False
    )
    for priority, first in ((1, 60), (2, 240), (3, 1440), (4, 1440)):
        SlaTarget.objects.create(policy=vendor, priority=priority, first_response_minutes=first)


CANNED_REPLIES = [
    (
        "挨拶 / Greeting",
        "サポート窓口の担当です。ご相談内容を確認しますので、少々お待ちください。",
        "This is the support desk. Let me look at your question; one moment, please.",
    ),
    (
        "エラー画面 / Error screen",
        "表示されたエラーメッセージ（またはエラー番号）を、そのまま貼り付けていただけますか。"
        "画面の写真を添付していただいても構いません。",
        "Could you paste the error message (or error number) exactly as shown? A screenshot is fine too.",
    ),
    (
        "端末の確認 / Device",
        "お使いの端末（Windows / Mac / iPhone / Android）と、ブラウザーまたはアプリの種類を教えてください。",
        "Which device are you using (Windows, Mac, iPhone, Android), and which browser or app?",
    ),
    (
        "メールで回答 / Answer by mail",
        "確認に時間がかかるため、メールで回答いたします。このまま少々お待ちください。",
        "This needs some checking, so we will answer you by mail. Thank you for your patience.",
    ),
    (
        "終了 / Closing",
        "ほかにご不明な点はありますか。なければ、このチャットを終了いたします。ご利用ありがとうございました。",
        "Is there anything else? If not, I will end this chat. Thank you for contacting us.",
    ),
]


def _load_chat() -> None:
    from madoguchi.chat.models import CannedReply

    for i, (title, ja, en) in enumerate(CANNED_REPLIES):
        CannedReply.objects.get_or_create(
            title=title, defaults={"body_ja": ja, "body_en": en, "sort_order": (i + 1) * 10}
        )


def demo_accounts_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-accounts.txt"


@transaction.atomic
def load_demo() -> list[tuple[str, str, str]]:
    """Load the demo data into an empty database. Returns (username, password, role)."""
    from madoguchi.inquiries.actions import NewInquiry, do_create_inquiry
    from madoguchi.inquiries.models import Category

    for i, (slug, ja, en, extra, form_only, dja, den) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slug,
            defaults=dict(
                name_ja=ja,
                name_en=en,
                extra_fields=extra,
                form_only=form_only,
                description_ja=dja,
                description_en=den,
                sort_order=(i + 1) * 10,
            ),
        )
    _load_hours_and_policies()
    from madoguchi.kb.demo import load_demo_articles

    load_demo_articles()
    _load_chat()
    User = get_user_model()
    accounts = []
    for username, display, tier, superuser in STAFF:
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(9)
        user = User(
            username=username,
            display_name=display,
            tier=tier,
            is_superuser=superuser,
            is_staff=superuser,
            email=f"{username}@helpdesk.localhost",
        )
        user.set_password(password)
        user.save()
        accounts.append((username, password, tier or "admin"))
    from madoguchi.inquiries.models import Inquiry

    if not Inquiry.objects.exists():
        categories = {c.slug: c for c in Category.objects.all()}
        for item in INQUIRIES:
            data = dict(item)
            category = categories.get(data.pop("category") or "")
            details = data.pop("details", {})
            do_create_inquiry(
                NewInquiry(category=category, details=details, **data), channel="form"
            )
    if accounts:
        path = demo_accounts_file()
        path.write_text("".join(f"{u}\t{p}\t{r}\n" for u, p, r in accounts), encoding="utf-8")
        path.chmod(0o600)
    return accounts


def read_demo_accounts() -> list[tuple[str, str, str]]:
    path = demo_accounts_file()
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows

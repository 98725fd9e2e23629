"""Built-in mail texts, Japanese and English. An administrator may override any of them
in the admin (MailTemplate); placeholders are ``$name``."""

from __future__ import annotations

SIGNATURE = {
    "ja": "--\n$desk_name\nこのメールに返信すると、同じお問い合わせに追記されます。\n",
    "en": "--\n$desk_name\nReplying to this mail adds to the same inquiry.\n",
}

# Mails that belong to no inquiry (a sign-in code, a staff password reset): a reply would
# reach nobody.
SIGNATURE_STANDALONE = {
    "ja": "--\n$desk_name\nこのメールは送信専用です。返信には回答できません。\n",
    "en": "--\n$desk_name\nThis mail is sent automatically; replies are not read.\n",
}
STANDALONE = frozenset({"signin_code", "password_reset"})

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "confirmation": {
        "ja": (
            "[$reference] お問い合わせを受け付けました：$subject",
            "$name様\n\n"
            "お問い合わせを受け付けました。\n\n"
            "受付番号：$reference\n"
            "件名：$subject\n\n"
            "内容の確認・回答は以下のページからもできます（このリンクは他の人に教えないでください）。\n"
            "$link\n\n"
            "$expectation\n"
            "お問い合わせには学生スタッフが教職員の監督のもとで対応します。\n\n",
        ),
        "en": (
            "[$reference] We received your inquiry: $subject",
            "Dear $name,\n\n"
            "We have received your inquiry.\n\n"
            "Reference: $reference\n"
            "Subject: $subject\n\n"
            "You can view the conversation and reply on this page (do not share the link):\n"
            "$link\n\n"
            "$expectation\n"
            "Inquiries are handled by student staff under faculty supervision.\n\n",
        ),
    },
    "confirmation_sensitive": {
        "ja": (
            "[$reference] 機微な内容を含むお問い合わせを受け付けました",
            "$name様\n\n"
            "機微な内容を含むお問い合わせとして受け付けました。教職員のみが対応します。\n"
            "回答までに1週間程度かかる場合があります。\n\n"
            "受付番号：$reference\n\n"
            "内容の確認・返信：\n$link\n\n",
        ),
        "en": (
            "[$reference] We received your sensitive inquiry",
            "Dear $name,\n\n"
            "We have received your inquiry as a sensitive one. Only faculty staff will handle it.\n"
            "An answer may take about a week.\n\n"
            "Reference: $reference\n\n"
            "View and reply:\n$link\n\n",
        ),
    },
    "reply": {
        "ja": (
            "[$reference] Re: $subject",
            "$name様\n\n$body\n\nこのお問い合わせのページ：\n$link\n\n",
        ),
        "en": (
            "[$reference] Re: $subject",
            "Dear $name,\n\n$body\n\nYour inquiry's page:\n$link\n\n",
        ),
    },
    "handback": {
        "ja": (
            "[$reference] 学生スタッフへの引き継ぎについてのお願い",
            "$name様\n\n"
            "機微な内容を含むお問い合わせとしてお送りいただいた件について、担当の教職員が確認しました。\n"
            "学生スタッフが対応しても差し支えない内容と判断しましたので、引き継いでよいかお尋ねします。\n\n"
            "$note\n\n"
            "以下のページで「同意する」または「同意しない」を選んでください。同意いただけない場合は、"
            "引き続き教職員のみが対応します。\n$consent_link\n\n",
        ),
        "en": (
            "[$reference] May we hand your inquiry to student staff?",
            "Dear $name,\n\n"
            "A faculty member has reviewed the inquiry you sent as sensitive and judged that student "
            "staff could handle it. May we hand it over to them?\n\n"
            "$note\n\n"
            "Please choose “I agree” or “I do not agree” on this page. If you do not agree, "
            "only faculty staff will continue to handle it.\n$consent_link\n\n",
        ),
    },
    "password_reset": {
        "ja": (
            "パスワードの再設定",
            "$name様\n\n"
            "$desk_nameのスタッフ用アカウント（ユーザー名：$username）のパスワードの再設定が求められました。\n"
            "以下のページで新しいパスワードを設定してください。このリンクは$minutes分間、1回だけ使えます。\n"
            "$link\n\n"
            "心当たりがない場合は、このメールを破棄してください。パスワードは変わりません。\n\n",
        ),
        "en": (
            "Resetting your password",
            "Dear $name,\n\n"
            "Someone asked to reset the password of your staff account at $desk_name "
            "(user name: $username).\n"
            "Set a new password on this page. The link works once, for $minutes minutes.\n"
            "$link\n\n"
            "If you did not ask for this, ignore this mail; your password stays as it is.\n\n",
        ),
    },
    "signin_code": {
        "ja": (
            "サインイン用の確認コード：$code",
            "サポート窓口にサインインするための確認コードです。\n\n"
            "確認コード：$code\n\n"
            "このコードは$minutes分間、一度だけ使えます。他の人には教えないでください。\n"
            "心当たりがない場合は、このメールを無視してください。\n\n",
        ),
        "en": (
            "Your sign-in code: $code",
            "This is the code to sign in to the support desk.\n\n"
            "Code: $code\n\n"
            "It can be used once, within $minutes minutes. Do not tell it to anyone.\n"
            "If you did not ask for it, ignore this mail.\n\n",
        ),
    },
}

# With an SLA target: $when is the local due time of the first answer.
EXPECTATION_BY = {
    "ja": "$whenまでに最初の回答をお送りする予定です。",
    "en": "We aim to send a first answer by $when (Japan time).",
}

EXPECTATION = {
    "ja": "通常、翌営業日までに最初の回答をお送りします。",
    "en": "We usually send a first answer by the next business day.",
}

DESK_NAME = {"ja": "サポート窓口", "en": "Support Desk"}

"""Inquiry texts full of personal data, in the forms people really write them, each with
what identifies someone in it (``secrets``: nothing of these may survive) and what must
stay (``keep``: ordinary words, product names, error numbers). All names, addresses and
numbers are fictitious; domains are reserved (``.example``)."""

from __future__ import annotations

from typing import Any

# Ordinary words that must never be redacted, whatever the text.
TECHNICAL_TERMS = [
    "Zoom",
    "Moodle",
    "VPN",
    "UTOL",
    "Google Drive",
    "Microsoft Teams",
    "エラー番号 12345",
    "Windows 10/11",
    "ブラウザー",
    "サインイン",
    "パスワード",
    "二段階認証",
    "Wi-Fi",
    "Chrome 131",
]

CORPUS: list[dict[str, Any]] = [
    {
        "id": "ja-form-zoom-class",
        "known": {
            "names": ["山田 太郎", "佐藤 花子"],
            "classes": ["情報科学概論"],
            "instructors": ["田中 一郎"],
            "values": [["email", "taro.yamada@st.univ.example"], ["id", "0123456789"]],
        },
        "text": (
            "件名：Zoom に入れません\n\n【依頼者】\n"
            "コモンサポーターの皆様\n\n"
            "お世話になっております。工学部2年の山田太郎と申します。\n"
            "共通ID：０１２３４５６７８９\n"
            "2026年11月24日（火）3限の「情報科学概論」の授業（田中先生）に Zoom で入れませんでした。\n"
            "エラー番号 12345 が表示されます。Moodle と VPN は問題なく使えています。\n"
            "Windows 10/11 のどちらでも同じでした。\n"
            "連絡先：090-1234-5678 / taro.yamada@st.univ.example\n\n"
            "よろしくお願いいたします。\n山田 太郎\n\n"
            "【窓口】\n山田様\n\nお問い合わせありがとうございます。担当の佐藤です。\n"
            "田中先生の授業のURLは UTOL に掲載されています。ブラウザーで Zoom にサインインしてから入室してください。\n"
            "佐藤 花子\n"
        ),
        "secrets": [
            "山田",
            "太郎",
            "佐藤",
            "花子",
            "田中",
            "情報科学概論",
            "0123456789",
            "090-1234-5678",
            "taro.yamada@st.univ.example",
            "2026年11月24日",
            "24日",
        ],
        "keep": ["2026年11月", "工学部", "コモンサポーター"],
    },
    {
        "id": "ja-fullwidth-everything",
        "known": {"names": ["鈴木 一郎"]},
        "text": (
            "鈴木一郎です。学籍番号は　１２３４５　６７８９０　です。\n"
            "電話：０３－１２３４－５６７８（内線　４５６７）\n"
            "メール：ｉｃｈｉｒｏ．ｓｕｚｕｋｉ＠ｆａｃ．ｕｎｉｖ．ｅｘａｍｐｌｅ\n"
            "１１月２４日　１４時３０分ごろからサインインできません。パスワードは変えていません。\n"
            "研究室は〒１１３－８６５４　東京都文京区本郷７－３－１です。\n"
        ),
        "secrets": [
            "鈴木",
            "一郎",
            "1234567890",
            "03-1234-5678",
            "4567",
            "ichiro.suzuki@fac.univ.example",
            "11月24日",
            "14時30分",
            "113-8654",
            "本郷7-3-1",
        ],
        "keep": ["11月", "サインイン", "パスワード"],
    },
    {
        "id": "en-mail-with-quote-and-signature",
        "known": {"names": ["Emily Carter", "山本 健"]},
        "text": (
            "Subject: Cannot join the lecture\n\n[Requester]\n"
            'Hello,\n\nI could not join Prof. Whitfield\'s "Introduction to Data Science" course on '
            "Nov 24, 2026 at 10:25 AM. Zoom says error 12345.\n"
            "My student ID is 0000000001 and my phone number is +81 90-8765-4321.\n"
            "I uploaded a screenshot here: https://drive.google.com/file/d/1Zx9YwVuTsRqPoNmLkJiHg/view?usp=sharing\n"
            "My IP address was 203.0.113.7.\n\n"
            "Best regards,\nEmily Carter\nGraduate School of Engineering\n\n"
            "On Tue, Nov 24, 2026 at 11:02 AM Support Desk <support@helpdesk.univ.example> wrote:\n"
            "> Dear Emily,\n> Thank you for your message. Could you tell us the meeting ID?\n"
            "> Ken Yamamoto\n\n[Desk]\nDear Ms. Carter,\n\n"
            "Please sign in to Zoom with your university account first; Moodle also lists the link.\n"
            "Yamamoto\n"
        ),
        "secrets": [
            "Emily",
            "Carter",
            "Whitfield",
            "Introduction to Data Science",
            "Nov 24",
            "10:25",
            "0000000001",
            "90-8765-4321",
            "1Zx9YwVuTsRqPoNmLkJiHg",
            "203.0.113.7",
            "Yamamoto",
        ],
        "keep": ["November 2026", "https://drive.google.com/", "Graduate School of Engineering"],
    },
    {
        "id": "ja-quoted-reply-gmail-header",
        "known": {"names": ["高橋 美咲"]},
        "text": (
            "返信ありがとうございます。まだ入れません。\n\n"
            "2026年11月25日(水) 9:15 ヘルプデスク <support@helpdesk.univ.example>:\n"
            "> 高橋 美咲 様\n> 入室の際はブラウザーを最新にしてください。\n"
            "> 差出人: 高橋美咲 <misaki.t@st.univ.example>\n"
            "> 送信日時: 2026年11月24日 18:03\n"
        ),
        "secrets": [
            "高橋",
            "美咲",
            "misaki.t@st.univ.example",
            "support@helpdesk.univ.example",
            "11月25日",
            "11月24日",
            "9:15",
            "18:03",
        ],
        "keep": ["ブラウザー", "2026年11月"],
    },
    {
        "id": "ja-names-not-given",
        "known": {"names": ["伊藤 誠"]},
        "text": (
            "伊藤です。同じ研究室の中村さんと小林先生のゼミに参加しています。\n"
            "中村も同じエラーが出ると言っています。木村教授の研究室（木村研）でも発生しています。\n"
            "オペレーターさんの案内どおり、Wi-Fi を切り替えました。\n"
        ),
        "secrets": ["伊藤", "中村", "小林", "木村"],
        "keep": ["オペレーター", "Wi-Fi", "研究室"],
    },
    {
        "id": "en-names-not-given",
        "known": {"names": ["Li Wei"]},
        "text": (
            "Dear Support Team,\n\nMy name is Li Wei. Dr. Okonkwo asked me to contact you. "
            "Tanaka-sensei's seminar room link does not work, and Mr. Brown in the office could not help.\n"
            "Brown said the VPN was down on 11/24.\nThanks,\nLi Wei\n"
        ),
        "secrets": ["Li Wei", "Okonkwo", "Tanaka", "Brown", "11/24"],
        "keep": ["Support Team", "VPN", "November"],
    },
    {
        "id": "mixed-line-breaks-and-urls",
        "known": {"names": ["渡辺 直樹", "Naoki Watanabe"]},
        "text": (
            "渡辺\n直樹です。Naoki\nWatanabe とも書きます。\n"
            "ページ: https://univ.example/~nwatanabe/index.html\n"
            "プロフィール: https://lms.univ.example/users/48213/profile\n"
            "公開ページ https://univ.example/support/zoom は見ました。\n"
            "予約 https://calendar.example/event?id=8f3a9c2e1b&user=nwatanabe\n"
            "IPv6: 2001:db8:85a3::8a2e:370:7334\n"
        ),
        "secrets": [
            "渡辺",
            "直樹",
            "Naoki",
            "Watanabe",
            "nwatanabe",
            "48213",
            "8f3a9c2e1b",
            "2001:db8:85a3::8a2e:370:7334",
        ],
        "keep": [
            "https://univ.example/support/zoom",
            "https://lms.univ.example/",
            "https://calendar.example/",
        ],
    },
    {
        "id": "ja-phone-formats",
        "known": {"names": ["加藤 陽子"]},
        "text": (
            "加藤陽子と申します。\n携帯 09012345678、研究室 03(5841)1234、\n"
            "自宅 ０４５-１２３-４５６７、+81-3-5841-0000 にお願いします。\n"
            "ミーティングID: 812 3456 7890\nZoom のバージョンは 6.2.5 です。\n"
        ),
        "secrets": ["加藤", "陽子", "09012345678", "5841", "045-123-4567", "812 3456 7890"],
        "keep": ["6.2.5", "Zoom"],
    },
    {
        "id": "ja-dates-and-times",
        "known": {"names": []},
        "text": (
            "令和8年11月24日（火曜日）午後2時ごろ、\n2026/11/24 14:05 にも、\n"
            "そして 11/24(火) 10:30〜12:00 の講義でも同じでした。\n3日間ほど様子を見ました。\n"
        ),
        "secrets": ["11月24日", "2026/11/24", "11/24", "14:05", "10:30", "12:00", "午後2時"],
        "keep": ["令和8年11月", "2026/11", "3日間"],
    },
    {
        "id": "en-dates",
        "known": {"names": []},
        "text": (
            "It happened on Tuesday, November 24, 2026 at 3:15 pm and again on 25 November 2026, "
            "then on Dec. 1st. Chrome 131 on Windows 10/11.\n"
        ),
        "secrets": ["November 24", "3:15", "25 November", "Dec. 1st"],
        "keep": ["November 2026", "December", "Chrome 131", "Windows 10/11"],
    },
    {
        "id": "ja-class-patterns",
        "known": {"names": ["松本 翔"], "classes": ["量子力学特論"], "instructors": ["井上 聡"]},
        "text": (
            "松本です。量子力学特論の井上先生から「線形代数学演習」の授業リンクをもらいました。\n"
            "プログラミング入門とデータサイエンス概論のクラスも同じです。井上先生によれば UTOL の不具合です。\n"
        ),
        "secrets": [
            "松本",
            "量子力学特論",
            "井上",
            "線形代数学演習",
            "プログラミング入門",
            "データサイエンス概論",
        ],
        "keep": ["UTOL", "授業リンク"],
    },
    {
        "id": "en-signature-block",
        "known": {"names": ["Sophie Martin"]},
        "text": (
            "Hi,\nMicrosoft Teams will not open on my laptop (Wi-Fi is fine).\n\n"
            "--\nSophie Martin\nPhD student, Dept. of Physics\nTel: 03-5841-9999\n"
            "sophie.martin@st.univ.example\n"
        ),
        "secrets": ["Sophie", "Martin", "03-5841-9999", "sophie.martin@st.univ.example"],
        "keep": ["Microsoft Teams", "Wi-Fi", "Dept. of Physics"],
    },
    {
        "id": "ja-katakana-name-of-an-international-student",
        "known": {"names": ["グエン・ヴァン・アン"]},
        "text": (
            "グエン・ヴァン・アンです。アンと呼んでください。\n"
            "Zoom をアンインストールしてから入れ直しましたが、まだエラーが出ます。\n"
            "グエン ヴァン アン\n"
        ),
        "secrets": ["グエン", "ヴァン", "アンと"],
        "keep": ["アンインストール", "Zoom"],
    },
    {
        "id": "ja-signature-rule",
        "known": {"names": []},
        "text": (
            "二段階認証のコードが届きません。Google Drive も開けません。\n\n"
            "━━━━━━━━━━━━━━━━━━\n東京大学 文学部 森田　亮介\nryosuke-morita@l.univ.example\n"
            "━━━━━━━━━━━━━━━━━━\n"
        ),
        "secrets": ["森田", "亮介", "ryosuke-morita@l.univ.example"],
        "keep": ["二段階認証", "Google Drive", "文学部"],
    },
]

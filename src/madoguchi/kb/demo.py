"""Demo knowledge base written for madoguchi: twelve short topics in Japanese and English
for an imaginary university, and a few questions the bot could not answer, so the
teaching page has something to show. Loading twice changes nothing; an article edited
since is left as it is."""

from __future__ import annotations

from typing import Any

# topic, section (ja, en), question (ja, en), answer (ja, en), other phrasings (ja, en)
TOPICS: list[
    tuple[str, tuple[str, str], tuple[str, str], tuple[str, str], tuple[list[str], list[str]]]
] = [
    (
        "zoom-sign-in",
        ("Zoom・オンライン通話", "Zoom and online calls"),
        (
            "大学のアカウントでZoomにサインインするには？",
            "How do I sign in to Zoom with my university account?",
        ),
        (
            "Zoomのサインイン画面で**「SSO」**を選び、会社ドメインに `univ-example` と入力してください。"
            "続いて大学のサインイン画面が開くので、大学のアカウントとパスワードでサインインします。\n\n"
            "- メールアドレスとパスワードを直接入力する欄は使いません。\n"
            "- 個人で作ったZoomアカウントに同じメールアドレスを使っていると、統合の確認が表示されます。"
            "画面の案内に従って大学のアカウントに移行してください。\n\n"
            "それでもサインインできないときは、表示されたエラー番号を添えて[メールフォーム](/form/?category=zoom)"
            "からお知らせください。",
            "On the Zoom sign-in screen choose **SSO** and enter `univ-example` as the company domain. The "
            "university sign-in page opens next: sign in there with your university account and password.\n\n"
            "- Do not type your e-mail address and password into Zoom's own fields.\n"
            "- If you once made a personal Zoom account with the same address, Zoom asks you to move it to the "
            "university account; follow the steps on screen.\n\n"
            "If it still fails, send us the error number through the [email form](/form/?category=zoom).",
        ),
        (
            ["ズームにログインできない", "ZoomサインインSSO"],
            ["cannot log in to Zoom", "Zoom SSO sign in"],
        ),
    ),
    (
        "password-reset",
        ("アカウント", "Accounts"),
        (
            "大学アカウントのパスワードを忘れました",
            "I forgot the password of my university account",
        ),
        (
            "アカウント管理ページの**「パスワードを忘れた場合」**から、登録済みの連絡用メールアドレスに"
            "再設定用のリンクを送れます。リンクの有効期限は30分です。\n\n"
            "連絡用メールアドレスを登録していない場合や、そのアドレスが使えなくなった場合は、"
            "学生証または職員証を持って窓口までお越しください。本人確認のうえ仮パスワードをお渡しします。\n\n"
            "パスワードを電話やチャットでお伝えすることはありません。",
            "On the account management page, choose **Forgot your password?** to get a reset link at the "
            "contact address you registered. The link works for 30 minutes.\n\n"
            "If you never registered a contact address, or can no longer use it, bring your student or staff ID "
            "card to the desk: we check who you are and give you a temporary password.\n\n"
            "We never give out passwords by phone or chat.",
        ),
        (
            ["パスワードを再設定したい", "パスワードがわからない"],
            ["reset my password", "password forgotten"],
        ),
    ),
    (
        "wifi-eduroam",
        ("ネットワーク", "Network"),
        (
            "学内のWi-Fi（eduroam）に接続するには？",
            "How do I connect to the campus Wi-Fi (eduroam)?",
        ),
        (
            "学内では**eduroam**を使います。\n\n"
            "1. アカウント管理ページで「eduroam用パスワード」を発行します（大学のパスワードとは別です）。\n"
            "2. 端末のWi-Fi一覧から `eduroam` を選びます。\n"
            "3. ユーザー名に `アカウント名@univ-example.ac.jp`、パスワードに発行したパスワードを入力します。\n"
            "4. 証明書の確認が出たら、発行元が大学の案内と同じであることを確かめて信頼します。\n\n"
            "以前つながっていたのにつながらなくなった場合は、端末に保存されたeduroamの設定を削除してから"
            "やり直してください。",
            "On campus, use **eduroam**.\n\n"
            '1. Issue an "eduroam password" on the account management page (it is not your university '
            "password).\n"
            "2. Pick `eduroam` from your device's Wi-Fi list.\n"
            "3. Enter `your-account@univ-example.ac.jp` as the user name and the issued password.\n"
            "4. When asked about a certificate, check that the issuer matches the university's notice, then "
            "trust it.\n\n"
            "If it used to work and stopped, delete the saved eduroam network on your device and start again.",
        ),
        (
            ["wifiつながらない", "無線LANに接続できない"],
            ["wifi not connecting", "wireless network on campus"],
        ),
    ),
    (
        "mail-forwarding",
        ("メール・Microsoft 365", "Mail and Microsoft 365"),
        (
            "大学のメールを普段使いのアドレスに転送できますか？",
            "Can I forward my university mail to another address?",
        ),
        (
            "できます。Outlook on the webの**設定 → メール → 転送**で転送先を登録し、"
            "「転送されたメッセージのコピーを保持する」をオンにしておくことをおすすめします。\n\n"
            "ただし、授業や事務からの大切な連絡を見落とさないよう、転送先の迷惑メールフォルダーも"
            "ときどき確認してください。成績や個人情報を含むメールの転送を禁止している部局もあります。",
            "Yes. In Outlook on the web open **Settings → Mail → Forwarding**, add the address, and we recommend "
            'turning on "Keep a copy of forwarded messages".\n\n'
            "Check the other mailbox's junk folder now and then so that messages from your classes and offices "
            "are not missed. Some offices do not allow forwarding mail that contains grades or personal data.",
        ),
        (
            ["メール 自動転送", "Gmailに転送したい"],
            ["auto forward email", "forward mail to gmail"],
        ),
    ),
    (
        "office-install",
        ("メール・Microsoft 365", "Mail and Microsoft 365"),
        (
            "Microsoft 365（Word・Excelなど）を自分のパソコンに入れるには？",
            "How do I install Microsoft 365 (Word, Excel …) on my own computer?",
        ),
        (
            "在学中・在職中は、個人のパソコンやタブレット5台まで無料で使えます。\n\n"
            "1. ブラウザーでMicrosoft 365のポータルに大学のアカウントでサインインします。\n"
            "2. 右上の**「アプリをインストール」**からMicrosoft 365アプリを選びます。\n"
            "3. ダウンロードしたインストーラーを実行し、終わったらWordなどを開いて大学のアカウントで"
            "サインインします。\n\n"
            "卒業・退職するとライセンスは使えなくなり、閲覧のみのモードになります。",
            "While you study or work here you can use it on up to five of your own computers or tablets at no "
            "cost.\n\n"
            "1. Sign in to the Microsoft 365 portal in a browser with your university account.\n"
            "2. Choose **Install apps** at the top right, then Microsoft 365 apps.\n"
            "3. Run the installer; when it is done, open Word (or any app) and sign in with the university "
            "account.\n\n"
            "When you graduate or leave, the licence ends and the apps switch to read-only.",
        ),
        (
            ["Officeのインストール", "ワード エクセル 無料"],
            ["install office", "free word and excel"],
        ),
    ),
    (
        "lms-login",
        ("授業・学習管理システム", "Classes and the course site"),
        (
            "学習管理システム（授業サイト）にログインできません",
            "I cannot log in to the course site (LMS)",
        ),
        (
            "学習管理システムは大学のアカウントでサインインします。次を順に確かめてください。\n\n"
            "- 別の大学サービスには同じアカウントでサインインできるか（できなければパスワードの問題です）。\n"
            "- ブラウザーのシークレット（プライベート）ウィンドウで開くとサインインできるか。\n"
            "- 履修登録が済んでいるか。登録から授業サイトに反映されるまで1日ほどかかります。\n\n"
            "授業が一覧に出ない場合は担当教員にもご確認ください。",
            "The course site uses your university account. Please check, in order:\n\n"
            "- whether you can sign in to another university service with it (if not, it is a password "
            "problem);\n"
            "- whether signing in works in a private (incognito) browser window;\n"
            "- whether you have registered for the course: it takes about a day to appear on the course site.\n\n"
            "If a course does not appear in your list, please also ask its instructor.",
        ),
        (
            ["授業サイトに入れない", "LMSログインエラー"],
            ["course site login error", "LMS sign in problem"],
        ),
    ),
    (
        "printing",
        ("学内の設備", "Campus facilities"),
        ("学内のプリンターで印刷するには？", "How do I print on a campus printer?"),
        (
            "情報教育棟と図書館のプリンターは、どれも同じ印刷待ち行列につながっています。\n\n"
            "1. 教室の端末、または自分のパソコンから印刷ページにファイルをアップロードします。\n"
            "2. 好きなプリンターで学生証をかざすと、待ち行列の文書が印刷されます。\n\n"
            "白黒は年間500枚まで無料、カラーと追加分はプリペイドです。印刷されない文書は24時間で"
            "待ち行列から消えます。",
            "The printers in the computer building and the library share one print queue.\n\n"
            "1. Upload your file to the printing page from a classroom computer or your own.\n"
            "2. Hold your student ID card to any printer: your queued documents print there.\n\n"
            "Black-and-white printing is free up to 500 pages a year; colour and extra pages are prepaid. "
            "Documents not printed within 24 hours leave the queue.",
        ),
        (["印刷できない", "プリンタの使い方"], ["printer not working", "print from my laptop"]),
    ),
    (
        "vpn",
        ("ネットワーク", "Network"),
        (
            "学外から学内限定のサイトを使うには（VPN）？",
            "How do I reach campus-only sites from outside (VPN)?",
        ),
        (
            "学外から電子ジャーナルや学内限定のページを使うときは、大学の**VPN**を使います。\n\n"
            "1. VPN案内ページから接続用アプリをダウンロードしてインストールします。\n"
            "2. 接続先に `vpn.univ-example.ac.jp` を入力し、大学のアカウントでサインインします。\n"
            "3. 多要素認証の確認を承認すると接続されます。\n\n"
            "使い終わったら切断してください。VPN経由ではビデオ会議が遅くなることがあります。",
            "To use e-journals and campus-only pages from outside, connect to the university **VPN**.\n\n"
            "1. Download and install the client from the VPN guide page.\n"
            "2. Enter `vpn.univ-example.ac.jp` as the server and sign in with your university account.\n"
            "3. Approve the multi-factor prompt and you are connected.\n\n"
            "Disconnect when you are done: video calls can be slow through the VPN.",
        ),
        (
            ["自宅から電子ジャーナルを読みたい", "VPN接続できない", "VPNの使い方"],
            ["access journals from home", "vpn connection failed"],
        ),
    ),
    (
        "mfa-setup",
        ("アカウント", "Accounts"),
        ("多要素認証を設定するには？", "How do I set up multi-factor authentication?"),
        (
            "アカウント管理ページの**「多要素認証」**から設定します。\n\n"
            "1. スマートフォンに認証アプリを入れます。\n"
            "2. 画面に出るQRコードを認証アプリで読み取ります。\n"
            "3. アプリに表示された6桁の数字を入力して完了です。\n\n"
            "機種変更の前に、新しい端末を追加しておいてください。スマートフォンをなくした場合は、"
            "本人確認のため学生証または職員証を持って窓口へお越しください。",
            "Set it up under **Multi-factor authentication** on the account management page.\n\n"
            "1. Install an authenticator app on your phone.\n"
            "2. Scan the QR code shown on screen with the app.\n"
            "3. Enter the six-digit code the app shows, and you are done.\n\n"
            "Before changing phones, add the new phone first. If you lost your phone, come to the desk with your "
            "student or staff ID card so that we can check who you are.",
        ),
        (
            ["二段階認証の設定", "認証アプリ 機種変更"],
            ["two-factor setup", "new phone authenticator"],
        ),
    ),
    (
        "exam-inquiries",
        ("この窓口について", "About this desk"),
        ("試験についての問い合わせはどこにすればよいですか？", "Where do I ask about exams?"),
        (
            "試験の日時・方法・受験資格などは、まず**担当教員または開講部局**にお問い合わせください。\n\n"
            "オンライン試験で使うシステムの不具合など、この窓口で扱う内容の場合も、"
            "試験に関するお問い合わせは記録を残すため[メールフォーム](/form/?category=exam)でのみ"
            "受け付けています。チャットやオンライン通話では受け付けません。",
            "For exam dates, formats or eligibility, please ask **the instructor or the faculty offering the "
            "course** first.\n\n"
            "Where it is something this desk handles, such as a fault in the system used for an online exam, we "
            "accept exam-related inquiries only through the [email form](/form/?category=exam), so that there "
            "is a written record. Chat and online calls cannot take them.",
        ),
        ([], []),
    ),
    (
        "contact-the-desk",
        ("この窓口について", "About this desk"),
        (
            "窓口への問い合わせ方法と受付時間は？",
            "How can I contact the desk, and when is it open?",
        ),
        (
            "- **メールフォーム**:いつでも送れます。平日の受付時間内に順に返信します。\n"
            "- **チャット・オンライン通話**：平日8:25〜18:30（祝日と年末年始を除く）。\n"
            "- **来室**：情報教育棟1階、平日10:00〜17:00。\n\n"
            "機微な内容（成績など）は、機微情報用のフォームからお送りください。",
            "- **Email form**: any time; we reply in order during opening hours on weekdays.\n"
            "- **Chat and online calls**: weekdays 8:25–18:30 (closed on public holidays and over the New Year).\n"
            "- **In person**: computer building, ground floor, weekdays 10:00–17:00.\n\n"
            "For sensitive matters such as grades, please use the form for sensitive inquiries.",
        ),
        (["受付時間", "問い合わせ先"], ["opening hours", "how to contact support"]),
    ),
    (
        "screen-sharing",
        ("Zoom・オンライン通話", "Zoom and online calls"),
        ("オンライン通話で画面を共有するには？", "How do I share my screen in an online call?"),
        (
            "通話画面の**「画面を共有」**ボタンを押し、共有したいウィンドウまたは画面全体を選びます。\n\n"
            "- macOSでは初回に「画面収録」の許可が必要です。システム設定の「プライバシーとセキュリティ」で"
            "ブラウザーまたはアプリを許可し、再起動してください。\n"
            "- 共有の前に、通知やパスワードなど見られたくない画面を閉じておきましょう。\n\n"
            "窓口とのオンライン通話では、スタッフが画面共有をお願いすることがありますが、"
            "パスワードの入力画面は共有しないでください。",
            "Press **Share screen** in the call and choose a window or your whole screen.\n\n"
            '- On macOS the first time needs the "Screen Recording" permission: allow your browser or app '
            "under Privacy & Security in System Settings, then restart it.\n"
            "- Close notifications and anything private before you share.\n\n"
            "In an online call with the desk, staff may ask you to share your screen; never share a screen "
            "where you type a password.",
        ),
        (
            ["画面共有ができない", "画面共有 許可mac"],
            ["screen share not working", "share screen permission mac"],
        ),
    ),
]

# Questions nobody has written an article for yet (near-duplicates on purpose).
SAMPLE_QUESTIONS = [
    ("研究室のNASにアクセスできない", "ja"),
    ("研究室のNASにアクセスできない。", "ja"),
    ("Adobeの学割はありますか", "ja"),
    ("Do you provide antivirus software?", "en"),
]


def demo_article_values() -> list[dict[str, Any]]:
    values = []
    for topic, sections, questions, answers, alternatives in TOPICS:
        for i, lang in enumerate(("ja", "en")):
            values.append(
                {
                    "external_id": f"demo-{topic}-{lang}",
                    "lang": lang,
                    "kind": "faq",
                    "topic": topic,
                    "section": sections[i],
                    "question": questions[i],
                    "answer": answers[i],
                    "alt_questions": list(alternatives[i]),
                    "public": True,
                }
            )
    return values


def load_demo_articles() -> int:
    """Create the demo articles that do not exist yet; returns how many were created."""
    from .actions import do_save_article
    from .learning import record_question
    from .models import Article, BotQuestion
    from .search import engine

    created = 0
    for values in demo_article_values():
        if Article.objects.filter(external_id=values["external_id"]).exists():
            continue
        if Article.objects.filter(topic=values["topic"], lang=values["lang"]).exists():
            continue  # the desk has its own article on this topic
        do_save_article(values)
        created += 1
    if not BotQuestion.objects.filter(channel="demo").exists():
        bot = engine()
        for text, lang in SAMPLE_QUESTIONS:
            record_question(
                text, lang, bot.ask(text, lang=lang, audience="requester"), channel="demo"
            )
    return created

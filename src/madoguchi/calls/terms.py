"""The shipped terms of use for calls (version 1; administrators publish new versions in
the admin). Our own wording of the desk's rules for calls."""

from __future__ import annotations

TERMS_JA = """\
オンライン通話を始める前に、次の点をご確認ください。

- 通話には主に学生スタッフが対応します。学生スタッフは守秘義務の取り決めのもと、教職員の監督下で対応しています。伝える情報はこのことを踏まえてご判断ください。
- 画面共有をお願いすることがあります。共有するのはオペレーターが指定したウィンドウだけにしてください。画面全体（デスクトップ全体）は共有できません。
- 窓口は通話も共有画面も録音・録画しません。利用者も録音・録画をしないでください。
- 共有画面のスクリーンショットは、そのたびに利用者の許可を得た場合にだけ保存します。保存したものは短期間で削除します。
- その場で答えるのが難しい内容は、メールでの回答に切り替えることがあります。
- 1回の通話には時間の上限があります。
- 試験に関するご相談はメールフォームでのみ受け付けます。
"""

TERMS_EN = """\
Before the call starts, please note:

- Calls are answered mostly by student staff, who work under confidentiality agreements and the supervision of faculty staff. Decide what you tell us with that in mind.
- We may ask you to share your screen. Share only the window the operator asks for; the whole screen (desktop) cannot be shared.
- The desk does not record the call or the shared screen. Please do not record it either.
- A screenshot of the shared window is stored only with your permission, asked each time, and is deleted after a short time.
- When something cannot be answered on the spot, we may continue by email.
- Each call has a time limit.
- Questions about examinations are taken by the email form only.
"""


def default_terms() -> dict[str, str]:
    return {"text_ja": TERMS_JA, "text_en": TERMS_EN}

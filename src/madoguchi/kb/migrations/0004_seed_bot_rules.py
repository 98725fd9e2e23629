"""Seed the bot's topic rules with a copy of madoguchi.bot.rules.default_rules() as it
was when the rules became editable (frozen here: a migration does not import app code).
Only an empty table is filled, so re-running changes nothing an administrator edited."""

from django.db import migrations

RULES = [{'name': 'sensitive',
  'order': 10,
  'patterns_ja': '成績\ngpa\n評定\n(?<!授業)(?<!講義)評価(?!アンケート)\n点数\n単位(?:認定|取得|を落|落と|が取れ|が足り)\n合否\nマイナンバー\n病歴|診断書',
  'patterns_en': '\\bgrades?\\b\n'
                 '\\bgrading\\b\n'
                 '\\bgpa\\b\n'
                 '\\btranscripts?\\b\n'
                 '\\bmy (?:score|marks?|results?)\\b\n'
                 '\\bpass(?:ed)? or fail(?:ed)?\\b\n'
                 '\\bmedical (?:certificate|record)s?\\b',
  'exclude_ja': '',
  'exclude_en': '\\bupgrade\n\\bdowngrade',
  'message_ja': '成績・評価などの個人的な情報は、このチャットには書かないでください。このようなご相談は、機微情報用のフォームからお送りください。',
  'message_en': 'Please do not share grades or other personal information here. Use the form for sensitive '
                'inquiries instead.',
  'link': '/form/sensitive/'},
 {'name': 'exam',
  'order': 20,
  'patterns_ja': '試験\n期末\n中間(?:テスト|考査)\n追試\n再試\n受験\n考査\nカンニング|不正行為\nテスト\n小テスト',
  'patterns_en': '\\bexams?\\b\n'
                 '\\bexamination\n'
                 '\\bmid-?terms?\\b\n'
                 '\\bfinals\\b\n'
                 '\\bfinal (?:test|exam)\n'
                 '\\bquiz(?:zes)?\\b\n'
                 '\\b(?:take|taking|took|sit|sitting|failed|pass|passed) (?:a |the |my |an )?test\\b\n'
                 '\\btest (?:results?|answers?|questions?|paper)\\b\n'
                 '\\bcheat(?:ing)?\\b',
  'exclude_ja': 'テスト(?:用|で|的|送信|メール|ミーティング|会議|配信|録画|通話|環境|アカウント|ページ|投稿|中)\n'
                '(?:接続|動作|音声|マイク|カメラ|スピーカー|通信|速度|回線|画面共有)(?:の)?テスト\n'
                'テストして\n'
                '(?:入学|入試).*(?:サイト|システム)',
  'exclude_en': '\\btest (?:meeting|call|mail|email|message|account|room|page|run|session|link)s?\\b\n'
                '\\b(?:speed|connection|audio|mic|microphone|camera|speaker|video) test\\b',
  'message_ja': '試験に関するご質問・ご相談は、まず担当教員または開講学部・研究科にご連絡ください。このサポート窓口では、試験に関するお問い合わせはメールフォームでのみ受け付けています。',
  'message_en': 'For questions about exams, please first contact your instructor or the faculty offering the '
                'course. This desk accepts exam-related inquiries only through the email form.',
  'link': '/form/?category=exam'},
 {'name': 'human',
  'order': 30,
  'patterns_ja': '(?:人|人間|担当者|担当の方|スタッフ|職員|オペレー?ター?|係の人|誰か)(?:と|に|さん)(?:話|はな|相談|つな|繋|代わ|かわ|替わ|変わ|対応)\n'
                 '(?:有人|オペレー?ター?)(?:対応|チャット)?(?:に|へ|と)(?:つな|繋|切り?替|きりか|代わ|かわ|変え|話|はな|相談)\n'
                 '(?:人|人間|オペレー?ター?|担当者|スタッフ)(?:を|に)?(?:呼|よん)\n'
                 '^\\s*(?:オペレー?ター?|有人|人間|担当者)(?:さん)?(?:で|を|に)?(?:お願い|おねがい|頼|希望)?[。!！?？\\s]*$\n'
                 '(?:ボット|bot|ロボット|機械)(?:じゃ|では|で)?(?:なく|はなく|ではなく)',
  'patterns_en': '\\b(?:talk|speak|chat|connect me|put me through)(?: to| with)? (?:a |an |the |some |real '
                 ')*(?:person|human|agent|operator|staff|someone|somebody|people|representative)\\b\n'
                 '\\b(?:real|live) (?:person|human|agent|operator)\\b\n'
                 '^\\s*(?:agent|operator|human|representative)(?: please)?[.!?\\s]*$\n'
                 '\\bnot (?:a |the )?(?:bot|robot|machine)\\b',
  'exclude_ja': '',
  'exclude_en': '',
  'message_ja': '担当者におつなぎします。少々お待ちください。',
  'message_en': 'Connecting you to a member of staff. Please wait a moment.',
  'link': ''}]


def seed(apps, schema_editor):
    BotRule = apps.get_model("kb", "BotRule")
    if BotRule.objects.exists():
        return
    for row in RULES:
        BotRule.objects.create(**row)


class Migration(migrations.Migration):

    dependencies = [
        ("kb", "0003_bot_questions_rules_and_outcomes"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]

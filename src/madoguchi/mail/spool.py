"""The mail spool used when no SMTP server is configured: Django's file backend, with the
spool directory 0700 and each file 0600 (the mails carry requesters' thread links)."""

from __future__ import annotations

from typing import Any

from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend

from madoguchi.core.files import open_private, private_dir


class EmailBackend(FileEmailBackend):
    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        from django.conf import settings

        private_dir(file_path or settings.EMAIL_FILE_PATH)
        super().__init__(*args, file_path=file_path, **kwargs)

    def open(self) -> bool:
        if self.stream is None:
            self.stream = open_private(self._get_filename(), "ab")
            return True
        return False

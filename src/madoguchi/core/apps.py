from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_tasks_db.apps import TasksAppConfig


class CoreConfig(AppConfig):
    default = True
    name = "madoguchi.core"
    label = "core"
    verbose_name = _("Desk core")


class TasksConfig(TasksAppConfig):
    """django-tasks-db with a name in the admin that follows the reader's language."""

    verbose_name = _("Background tasks")  # type: ignore[assignment]  # lazy, as Django allows


# The task models' own names (django-tasks-db marks them for translation but ships no
# Japanese): listed here so that our catalog translates them.
TASK_MODEL_NAMES = (gettext_noop("Task Result"), gettext_noop("Task Results"))

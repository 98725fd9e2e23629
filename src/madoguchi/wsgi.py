import os

from django.core.wsgi import get_wsgi_application

from madoguchi.core.files import private_umask

private_umask()  # under gunicorn too, the data files are the desk's alone
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
application = get_wsgi_application()

"""Settings of the Django client test: one database through shardgate, one
plain MariaDB database to compare with (see ../compare.py)."""

import pymysql

from compare import PROXY, REFERENCE

pymysql.install_as_MySQLdb()


def database(target):
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": target["database"],
        "USER": target["user"],
        "PASSWORD": target["password"],
        "HOST": target["host"],
        "PORT": target["port"],
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"NAME": target["database"]},
    }


DATABASES = {"default": database(PROXY), "reference": database(REFERENCE)}
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shopapp"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
SECRET_KEY = "client-test"

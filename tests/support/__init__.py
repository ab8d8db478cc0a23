"""Reusable test doubles: a fake Telegram Bot API and a real aiosmtpd SMTP server.

Enable the fixtures with ``pytest_plugins = ["tests.support.fake_telegram", "tests.support.smtp"]``
in the root conftest.py, or import them explicitly in a test module.
"""

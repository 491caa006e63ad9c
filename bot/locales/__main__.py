"""`python -m bot.locales`: compile the catalogs."""

from bot.locales import compile_all

for path in compile_all():
    print(path)

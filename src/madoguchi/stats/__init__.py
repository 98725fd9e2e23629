"""Publishable statistics (issue 15): count tables of inquiries with small-cell
suppression, statistics releases (preview, publish, public page, CSV and JSON) and
``madoguchi stats``. ``suppression`` is pure; ``tables`` counts in the database."""

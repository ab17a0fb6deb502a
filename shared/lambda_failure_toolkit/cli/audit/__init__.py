"""`dlq audit`: find where a failure would be lost or a permission is wrong, in a template or a live account.

Nothing is imported here: `render` is stdlib only (the scanners' venv runs it through
scripts/render_template.py), and the SAM translator is an optional dependency (the `audit` extra).
"""

"""The web page and Mini App in a real headless Chromium."""

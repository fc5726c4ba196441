"""Real-browser tests: Playwright driving Debian's Chromium against the live app."""

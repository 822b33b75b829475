"""Tests of ``pages/``: each tab's logic, the app through gradio_client, and headless Chromium."""

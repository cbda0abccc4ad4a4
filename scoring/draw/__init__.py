"""Attendance and the draw (抽签) with its anonymous codes (加密)."""

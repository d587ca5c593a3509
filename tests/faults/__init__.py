"""Faults from broken servers, proxies and state backends (issue 9): each ends in a clear
integkit error or a complete, correct answer."""

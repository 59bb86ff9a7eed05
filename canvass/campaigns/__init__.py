"""Campaigns: what a canvass asks at the door (script, questions, result codes, pledge types).

Below turfs and canvassing: a lease is for a campaign, and contacts answer its questions.
"""

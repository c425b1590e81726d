"""Dispatch's own domain: the three lists (三个清单) and the rule that matches work to people.

The supply list is the roster of members (`member.py`, listed in `roster.py`); the demand list
is residents' standing needs (`demand.py`), from which service tasks are ordered; the volunteer
service list is every `Member.WorkCompleted`. `rule.py` decides who gets a piece of work. Like the
casework domain, nothing here does I/O or reads the clock: commands are told the time.
"""
